/* Vector table and reset for any Cortex-M (Armv6-M to Armv8.1-M): copy .data,
 * clear .bss, turn on the FPU/MVE when the build uses them, call main. The
 * symbols come from the linker script tinyq renders from the board's memory map. */
#include <stdint.h>

#include "tq_fault.h"
#include "tq_stack.h"

extern uint32_t __data_load__[], __data_start__[], __data_end__[];
extern uint32_t __bss_start__[], __bss_end__[];
extern uint32_t __stack_top__[];

int main(void);
void Reset_Handler(void);
void HardFault_Handler(void);
void Default_Handler(void);
void SysTick_Handler(void) __attribute__((weak, alias("Default_Handler")));

#define CPACR (*(volatile uint32_t *)0xE000ED88u)

typedef void (*tq_vector_t)(void);

__attribute__((section(".vectors"), used)) const tq_vector_t tq_vectors[16 + 32] = {
    (tq_vector_t)(uintptr_t)__stack_top__,
    Reset_Handler,
    Default_Handler,   /* NMI */
    HardFault_Handler, /* also MemManage/Bus/Usage faults when not enabled separately */
    HardFault_Handler,
    HardFault_Handler,
    HardFault_Handler,
    HardFault_Handler, /* SecureFault */
    0, 0, 0,
    Default_Handler, /* SVCall */
    Default_Handler, /* DebugMonitor */
    0,
    Default_Handler, /* PendSV */
    SysTick_Handler,
    /* external interrupts: none used, all land in Default_Handler */
    Default_Handler, Default_Handler, Default_Handler, Default_Handler, Default_Handler, Default_Handler,
    Default_Handler, Default_Handler, Default_Handler, Default_Handler, Default_Handler, Default_Handler,
    Default_Handler, Default_Handler, Default_Handler, Default_Handler, Default_Handler, Default_Handler,
    Default_Handler, Default_Handler, Default_Handler, Default_Handler, Default_Handler, Default_Handler,
    Default_Handler, Default_Handler, Default_Handler, Default_Handler, Default_Handler, Default_Handler,
    Default_Handler, Default_Handler,
};

__attribute__((noreturn)) void Reset_Handler(void) {
#if defined(__ARM_FP) || defined(__ARM_FEATURE_MVE)
  /* CP10/CP11 full access, before the compiler can emit any FP or MVE instruction. */
  CPACR |= 0xFu << 20;
  __asm__ volatile("dsb\n\tisb" ::: "memory");
#endif
  /* volatile so these loops are not turned into calls or vector code before the C runtime exists */
  volatile uint32_t *src = __data_load__;
  for (volatile uint32_t *dst = __data_start__; dst < __data_end__;) *dst++ = *src++;
  for (volatile uint32_t *dst = __bss_start__; dst < __bss_end__;) *dst++ = 0;
  __asm__ volatile("" ::: "memory");
  tq_stack_paint();
  int rc = main();
  tq_fault_exit(rc);
}

/* Armv6-M has no TST with an immediate, so the stack choice goes through registers. */
__attribute__((naked)) void HardFault_Handler(void) {
  __asm__ volatile(
      "movs r0, #4\n\t"
      "mov r1, lr\n\t"
      "tst r0, r1\n\t"
      "bne 1f\n\t"
      "mrs r0, msp\n\t"
      "b tq_fault_report\n"
      "1:\n\t"
      "mrs r0, psp\n\t"
      "b tq_fault_report\n");
}

void Default_Handler(void) { tq_fault_report(0); }
