#ifndef TQ_DETECTION_POSTPROCESS_H
#define TQ_DETECTION_POSTPROCESS_H
#include <stdint.h>

typedef struct {
  int32_t num_boxes;
  int32_t box_stride;               /* floats per box encoding: y, x, h, w first */
  int32_t num_classes;
  int32_t classes_with_background;  /* floats per score row */
  int32_t label_offset;             /* 1 when each row starts with a background score */
  int32_t max_detections;
  int32_t categories_per_anchor;    /* fast NMS: classes output per detected box */
  int32_t detections_per_class;     /* regular NMS: boxes kept per class */
  int32_t regular;                  /* 1: regular NMS (per class), 0: fast NMS (best class per box) */
  float score_threshold;
  float iou_threshold;
  float y_scale, x_scale, h_scale, w_scale;
  /* byte offsets of the working arrays in the scratch buffer (tinyq/ops/detection_postprocess.py) */
  int32_t decoded_at, keep_scores_at, keep_indices_at, sorted_at, selected_at, class_scores_at;
  int32_t top_indices_at, top_scores_at, order_at, order_scores_at, top_classes_at, active_at;
} tq_detection_postprocess_params_t;

/* 0, or 1 where TFLM's Eval fails (a decoded box with ymin >= ymax or xmin >= xmax). */
int tq_detection_postprocess(const tq_detection_postprocess_params_t *p, const float *boxes, const float *scores,
                             const float *anchors, const int64_t *exp_table, float *detection_boxes,
                             float *detection_classes, float *detection_scores, float *num_detections,
                             void *scratch);
#endif
