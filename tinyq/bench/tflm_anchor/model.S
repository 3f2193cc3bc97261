/* The model's flatbuffer in flash, 16-byte aligned (TFLM reads it in place). */
  .section .rodata.tq_anchor_model, "a"
  .balign 16
  .global tq_anchor_model
tq_anchor_model:
  .incbin TQ_MODEL_PATH
