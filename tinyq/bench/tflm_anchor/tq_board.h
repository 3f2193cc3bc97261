/* tq_board.h: as tinyq generates it for boards/qemu-m55.toml (the console UART and the timer). */
#ifndef TQ_BOARD_H
#define TQ_BOARD_H

#define TQ_BOARD_NAME "qemu-m55"
/* Rate of tq_timer_ticks(): systick; under QEMU -icount shift=0 one tick is 31.25 instructions. */
#define TQ_TICK_HZ 32000000
#define TQ_UART_BASE 0x59303000u
#define TQ_UART_BAUDDIV 16u

#endif
