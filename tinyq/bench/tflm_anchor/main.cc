// TFLM + CMSIS-NN on QEMU mps3-an547: one model, one input, Invoke timed with SysTick under -icount
// (instructions) and traced for tinyq's cycle estimate (tinyq/bench/cycles.py). docs/cycles.md.
#include <stdint.h>

#include "tensorflow/lite/micro/micro_interpreter.h"
#include "tensorflow/lite/micro/micro_mutable_op_resolver.h"

extern "C" {
#include "tq_console.h"
#include "tq_io.h"
#include "tq_timer.h"
extern const uint8_t tq_anchor_model[];
}

#ifndef TQ_ANCHOR_ARENA
#define TQ_ANCHOR_ARENA (160 * 1024)
#endif
void *__dso_handle = nullptr;  // static objects register destructors nobody runs
alignas(16) static uint8_t arena[TQ_ANCHOR_ARENA];

// QEMU ends on semihosting's SYS_EXIT (ADP_Stopped_ApplicationExit)
static void semihosting_exit(void) {
  register int op asm("r0") = 0x18;
  register int reason asm("r1") = 0x20026;
  __asm volatile("bkpt 0xab" : : "r"(op), "r"(reason) : "memory");
}

// the traced window: from this function's first call until it returns
extern "C" __attribute__((noinline)) int tq_anchor_invoke(tflite::MicroInterpreter *interpreter) {
  return interpreter->Invoke();
}

int main() {
  tq_io_init();
  const tflite::Model *model = tflite::GetModel(tq_anchor_model);
  static tflite::MicroMutableOpResolver<10> ops;
  ops.AddConv2D();
  ops.AddDepthwiseConv2D();
  ops.AddFullyConnected();
  ops.AddSoftmax();
  ops.AddAveragePool2D();
  ops.AddMaxPool2D();
  ops.AddReshape();
  ops.AddAdd();
  ops.AddQuantize();
  ops.AddDequantize();
  static tflite::MicroInterpreter interpreter(model, ops, arena, sizeof arena);
  if (interpreter.AllocateTensors() != kTfLiteOk) {
    tq_puts("e AllocateTensors failed\n");
    semihosting_exit();
  }
  TfLiteTensor *input = interpreter.input(0);
  uint32_t x = 12345u;
  for (size_t i = 0; i < input->bytes; i++) {
    x = x * 1103515245u + 12345u;
    input->data.int8[i] = (int8_t)(x >> 24);
  }
  tq_timer_init();
  for (int run = 0; run < 2; run++) {
    uint64_t start = tq_timer_ticks();
    int status = tq_anchor_invoke(&interpreter);
    uint64_t ticks = tq_timer_ticks() - start;
    tq_puts("r ");
    tq_put_u64((uint64_t)status);
    tq_puts(" ");
    tq_put_u64(ticks);
    tq_puts(" arena_used ");
    tq_put_u64(interpreter.arena_used_bytes());
    tq_puts("\n");
  }
  semihosting_exit();
}
