#include "tq_float_strict.h"
#include "tq_detection_postprocess.h"
#include "tq_exp_f64.h"

#include <string.h>

/* TFLM's TFLite_Detection_PostProcess (kernels/detection_postprocess.cc), in its order of float
 * operations: box decoding in double with glibc's exp, IoU in float, a stable merge sort of the
 * kept scores (insertion sort below 20 values) and libstdc++'s heap-based std::partial_sort for
 * the top scores, so that ties (and NaN scores) order as they do there. Every buffer is the
 * caller's scratch; outputs are written exactly where TFLM writes them and nowhere else. */

typedef tq_detection_postprocess_params_t params_t;

#define SORT_INSERTION_BELOW 20 /* TFLM's MergeSort threshold */

/* std::max<float> / std::min<float>: which operand they return when a comparison is false. */
static float max_f(float a, float b) { return (a < b) ? b : a; }
static float min_f(float a, float b) { return (b < a) ? b : a; }

/* Center-size encodings (y, x, h, w) against the anchors (y, x, h, w) -> corners (ymin, xmin, ymax, xmax). */
static void decode_boxes(const params_t *p, const float *boxes, const float *anchors, const int64_t *exp_table,
                         float *decoded) {
  for (int32_t i = 0; i < p->num_boxes; ++i) {
    const float *e = boxes + i * p->box_stride;
    const float *a = anchors + 4 * i;
    const float ycenter = (float)((double)e[0] / (double)p->y_scale * (double)a[2] + (double)a[0]);
    const float xcenter = (float)((double)e[1] / (double)p->x_scale * (double)a[3] + (double)a[1]);
    const float half_h = (float)(0.5 * tq_exp_f64((double)e[2] / (double)p->h_scale, exp_table) * (double)a[2]);
    const float half_w = (float)(0.5 * tq_exp_f64((double)e[3] / (double)p->w_scale, exp_table) * (double)a[3]);
    float *d = decoded + 4 * i;
    d[0] = ycenter - half_h;
    d[1] = xcenter - half_w;
    d[2] = ycenter + half_h;
    d[3] = xcenter + half_w;
  }
}

static int boxes_valid(const float *decoded, int32_t n) {
  for (int32_t i = 0; i < n; ++i) {
    const float *d = decoded + 4 * i;
    if (d[0] >= d[2] || d[1] >= d[3]) return 0;
  }
  return 1;
}

static float intersection_over_union(const float *decoded, int32_t i, int32_t j) {
  const float *a = decoded + 4 * i;
  const float *b = decoded + 4 * j;
  const float area_a = (a[2] - a[0]) * (a[3] - a[1]);
  const float area_b = (b[2] - b[0]) * (b[3] - b[1]);
  if (area_a <= 0 || area_b <= 0) return 0.0f;
  const float ymin = max_f(a[0], b[0]);
  const float xmin = max_f(a[1], b[1]);
  const float ymax = min_f(a[2], b[2]);
  const float xmax = min_f(a[3], b[3]);
  const float intersection = max_f(ymax - ymin, 0.0f) * max_f(xmax - xmin, 0.0f);
  return intersection / (area_a + area_b - intersection);
}

/* --- TFLM's DecreasingArgSort: stable, by decreasing value ---------------------------------- */

static void insertion_sort(int32_t *v, int32_t n, const float *values) {
  for (int32_t i = 0; i < n; ++i) {
    const int32_t x = v[i];
    int32_t first = 0, len = i; /* std::upper_bound: the first element x sorts before */
    while (len > 0) {
      const int32_t half = len >> 1;
      if (values[x] > values[v[first + half]]) {
        len = half;
      } else {
        first += half + 1;
        len -= half + 1;
      }
    }
    memmove(v + first + 1, v + first, (size_t)(i - first) * sizeof *v);
    v[first] = x;
  }
}

static void merge_sort(int32_t *v, int32_t *scratch, int32_t n, const float *values) {
  if (n < SORT_INSERTION_BELOW) {
    insertion_sort(v, n, values);
    return;
  }
  const int32_t half = n / 2;
  merge_sort(v, scratch, half, values);
  merge_sort(v + half, scratch, n - half, values);
  int32_t left = 0, right = half;
  for (int32_t i = 0; i < n; ++i) {
    if (left >= half || (right < n && values[v[right]] > values[v[left]])) {
      scratch[i] = v[right++];
    } else {
      scratch[i] = v[left++];
    }
  }
  memcpy(v, scratch, (size_t)n * sizeof *v);
}

/* --- TFLM's DecreasingPartialArgSort: std::partial_sort as libstdc++ implements it -------------- */

/* i sorts before j: std::tie(values[i], j) > std::tie(values[j], i). */
static int sorts_before(const float *values, int32_t i, int32_t j) {
  return values[j] < values[i] || (!(values[i] < values[j]) && i < j);
}

static void push_heap(int32_t *heap, int32_t hole, int32_t top, int32_t value, const float *values) {
  int32_t parent = (hole - 1) / 2;
  while (hole > top && sorts_before(values, heap[parent], value)) {
    heap[hole] = heap[parent];
    hole = parent;
    parent = (hole - 1) / 2;
  }
  heap[hole] = value;
}

static void adjust_heap(int32_t *heap, int32_t hole, int32_t len, int32_t value, const float *values) {
  const int32_t top = hole;
  int32_t child = hole;
  while (child < (len - 1) / 2) {
    child = 2 * (child + 1);
    if (sorts_before(values, heap[child], heap[child - 1])) child--;
    heap[hole] = heap[child];
    hole = child;
  }
  if ((len & 1) == 0 && child == (len - 2) / 2) {
    child = 2 * (child + 1);
    heap[hole] = heap[child - 1];
    hole = child - 1;
  }
  push_heap(heap, hole, top, value, values);
}

/* order[0..k) = the k indices of values[0..n) that sort first (1 <= k <= n, or n == 0). */
static void partial_argsort(const float *values, int32_t n, int32_t k, int32_t *order) {
  for (int32_t i = 0; i < n; ++i) order[i] = i;
  if (n == 0) return;
  if (k >= 2) { /* std::__make_heap */
    for (int32_t parent = (k - 2) / 2;; --parent) {
      adjust_heap(order, parent, k, order[parent], values);
      if (parent == 0) break;
    }
  }
  for (int32_t i = k; i < n; ++i) { /* std::__heap_select */
    if (sorts_before(values, order[i], order[0])) {
      const int32_t value = order[i];
      order[i] = order[0];
      adjust_heap(order, 0, k, value, values);
    }
  }
  for (int32_t last = k; last > 1;) { /* std::__sort_heap */
    --last;
    const int32_t value = order[last];
    order[last] = order[0];
    adjust_heap(order, 0, last, value, values);
  }
}

/* --- non-max suppression ---------------------------------------------------------------------- */

typedef struct {
  float *decoded, *keep_scores, *class_scores, *top_scores, *order_scores;
  int32_t *keep_indices, *sorted, *selected, *top_indices, *order, *top_classes;
  uint8_t *active;
} work_t;

/* TFLM's NonMaxSuppressionSingleClassHelper: the boxes scoring at least the threshold, best first,
 * each dropping the later ones it overlaps by more than the IoU threshold; returns how many. */
static int32_t suppress(const params_t *p, const work_t *w, const float *scores, int32_t max_detections) {
  int32_t kept = 0;
  for (int32_t i = 0; i < p->num_boxes; ++i) {
    if (scores[i] >= p->score_threshold) {
      w->keep_scores[kept] = scores[i];
      w->keep_indices[kept] = i;
      kept++;
    }
  }
  for (int32_t i = 0; i < kept; ++i) w->sorted[i] = i;
  merge_sort(w->sorted, w->keep_indices, kept, w->keep_scores); /* the kept indices are its scratch */
  int32_t counter = 0;
  for (int32_t i = 0; i < p->num_boxes; ++i) {
    if (scores[i] >= p->score_threshold) w->keep_indices[counter++] = i;
  }
  const int32_t output_size = kept < max_detections ? kept : max_detections;
  int32_t count = 0, active = kept;
  memset(w->active, 1, (size_t)kept);
  for (int32_t i = 0; i < kept; ++i) {
    if (active == 0 || count >= output_size) break;
    if (!w->active[i]) continue;
    const int32_t box = w->keep_indices[w->sorted[i]];
    w->selected[count++] = box;
    w->active[i] = 0;
    active--;
    for (int32_t j = i + 1; j < kept; ++j) {
      if (w->active[j] &&
          intersection_over_union(w->decoded, box, w->keep_indices[w->sorted[j]]) > p->iou_threshold) {
        w->active[j] = 0;
        active--;
      }
    }
  }
  return count;
}

static void write_detection(float *boxes, float *classes, float *scores, int32_t at, const float *box, float cls,
                            float score) {
  memcpy(boxes + 4 * at, box, 4 * sizeof(float));
  classes[at] = cls;
  scores[at] = score;
}

/* Per class NMS, then the best max_detections over all classes; zeros after the last one. */
static void regular_nms(const params_t *p, const work_t *w, const float *scores, float *boxes, float *classes,
                        float *out_scores, float *num) {
  const int32_t stride = p->classes_with_background;
  int32_t size = 0;
  for (int32_t col = 0; col < p->num_classes; ++col) {
    for (int32_t row = 0; row < p->num_boxes; ++row) {
      w->class_scores[row] = scores[row * stride + col + p->label_offset];
    }
    const int32_t count = suppress(p, w, w->class_scores, p->detections_per_class);
    int32_t n = size;
    for (int32_t i = 0; i < count; ++i) {
      w->top_indices[n] = w->selected[i] * stride + col + p->label_offset;
      w->top_scores[n] = w->class_scores[w->selected[i]];
      n++;
    }
    const int32_t keep = n < p->max_detections ? n : p->max_detections;
    partial_argsort(w->top_scores, n, keep, w->order);
    for (int32_t row = 0; row < keep; ++row) {
      const int32_t from = w->order[row];
      w->order[row] = w->top_indices[from];
      w->order_scores[row] = w->top_scores[from];
    }
    for (int32_t row = 0; row < keep; ++row) {
      w->top_indices[row] = w->order[row];
      w->top_scores[row] = w->order_scores[row];
    }
    size = keep;
  }
  static const float zeros[4] = {0.0f, 0.0f, 0.0f, 0.0f};
  for (int32_t at = 0; at < p->max_detections; ++at) {
    if (at < size) {
      const int32_t anchor = w->top_indices[at] / stride;
      const int32_t cls = w->top_indices[at] - anchor * stride - p->label_offset;
      write_detection(boxes, classes, out_scores, at, w->decoded + 4 * anchor, (float)cls, w->top_scores[at]);
    } else {
      write_detection(boxes, classes, out_scores, at, zeros, 0.0f, 0.0f);
    }
  }
  num[0] = (float)size;
}

/* NMS over each box's best class score, then its top classes. TFLM places entry c of the k-th
 * written entry at categories * k + c (contiguous for one category per box) and leaves the
 * entries after the last one as they were. */
static void fast_nms(const params_t *p, const work_t *w, const float *scores, float *boxes, float *classes,
                     float *out_scores, float *num) {
  const int32_t categories = p->categories_per_anchor;
  for (int32_t row = 0; row < p->num_boxes; ++row) {
    const float *box_scores = scores + row * p->classes_with_background + p->label_offset;
    partial_argsort(box_scores, p->num_classes, categories, w->order);
    memcpy(w->top_classes + row * categories, w->order, (size_t)categories * sizeof(int32_t));
    w->class_scores[row] = box_scores[w->order[0]];
  }
  const int32_t count = suppress(p, w, w->class_scores, p->max_detections);
  int32_t written = 0;
  for (int32_t i = 0; i < count; ++i) {
    const int32_t box = w->selected[i];
    const float *box_scores = scores + box * p->classes_with_background + p->label_offset;
    const int32_t *top = w->top_classes + box * categories;
    for (int32_t col = 0; col < categories; ++col) {
      write_detection(boxes, classes, out_scores, categories * written + col, w->decoded + 4 * box,
                      (float)top[col], box_scores[top[col]]);
      written++;
    }
  }
  num[0] = (float)written;
}

int tq_detection_postprocess(const params_t *p, const float *boxes, const float *scores, const float *anchors,
                             const int64_t *exp_table, float *detection_boxes, float *detection_classes,
                             float *detection_scores, float *num_detections, void *scratch) {
  uint8_t *s = (uint8_t *)scratch;
  const work_t w = {
      (float *)(void *)(s + p->decoded_at), (float *)(void *)(s + p->keep_scores_at),
      (float *)(void *)(s + p->class_scores_at), (float *)(void *)(s + p->top_scores_at),
      (float *)(void *)(s + p->order_scores_at), (int32_t *)(void *)(s + p->keep_indices_at),
      (int32_t *)(void *)(s + p->sorted_at), (int32_t *)(void *)(s + p->selected_at),
      (int32_t *)(void *)(s + p->top_indices_at), (int32_t *)(void *)(s + p->order_at),
      (int32_t *)(void *)(s + p->top_classes_at), s + p->active_at};
  decode_boxes(p, boxes, anchors, exp_table, w.decoded);
  if (!boxes_valid(w.decoded, p->num_boxes)) return 1; /* TFLM's ValidateBoxes fails Eval */
  if (p->regular) {
    regular_nms(p, &w, scores, detection_boxes, detection_classes, detection_scores, num_detections);
  } else {
    fast_nms(p, &w, scores, detection_boxes, detection_classes, detection_scores, num_detections);
  }
  return 0;
}
