/* Byte I/O between the firmware and whoever drives it (tinyq over QEMU's UART,
 * a serial terminal, a debugger relaying semihosting). One implementation is
 * linked per board (tq_io_<kind>.c, chosen by the board file), so a protocol
 * built on these four calls runs unchanged on every target. */
#ifndef TQ_IO_H
#define TQ_IO_H

void tq_io_init(void);
/* Blocks until a byte arrives; returns it (0..255). */
int tq_io_getc(void);
void tq_io_putc(int c);
/* Ends the session: exits the simulator where that is possible, else parks the core. */
void tq_io_exit(int code);

#endif
