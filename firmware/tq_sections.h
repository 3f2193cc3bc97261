/* Force-included into the model source: puts the arena and the weights in the
 * linker sections the board's linker script places (SRAM/DTCM, flash/ITCM). */
#ifndef TQ_SECTIONS_H
#define TQ_SECTIONS_H

#define TQ_ARENA_SECTION __attribute__((section(".tq_arena")))
#define TQ_WEIGHTS_SECTION __attribute__((section(".tq_weights")))

#endif
