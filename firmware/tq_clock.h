/* Core clock bring-up for boards whose reset clock is not their nominal one (tq_clock_<board>.c,
 * chosen by the board file's [firmware] clock). The console driver calls it first, so the UART's
 * baud rate and the DWT cycle count are at the nominal clock from the first byte on. */
#ifndef TQ_CLOCK_H
#define TQ_CLOCK_H

void tq_clock_init(void);

#endif
