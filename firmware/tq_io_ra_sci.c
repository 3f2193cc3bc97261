/* Renesas RA8 SCI (SCI_B) in asynchronous mode, polled: the EK-RA8M1's J-Link virtual COM port
 * is SCI9 on P10_14 (TXD9) and P10_15 (RXD9). 8 data bits, no parity, 1 stop bit, LSB first.
 *
 * tq_io_init brings the clocks up first (tq_clock_ra8m1.c: SCICLK 120 MHz), then releases SCI9
 * from module stop, sets the baud rate (BGDM = 1: BRR = SCICLK / (16 * baud) - 1; 115200 baud:
 * BRR 64, 0.16 % fast), routes the pins and enables the receiver and transmitter. Registers and
 * bits per the RA8M1 hardware manual (SCI chapter). Not run by tinyq's tests (no RA8M1
 * emulator). */
#include <stdint.h>

#include "tq_board.h"
#include "tq_clock.h"
#include "tq_io.h"

#define REG8(a) (*(volatile uint8_t *)(a))
#define REG16(a) (*(volatile uint16_t *)(a))
#define REG32(a) (*(volatile uint32_t *)(a))

#define RDR REG32(TQ_UART_BASE + 0x00u)
#define TDR REG32(TQ_UART_BASE + 0x04u)
#define CCR0 REG32(TQ_UART_BASE + 0x08u)
#define CCR1 REG32(TQ_UART_BASE + 0x0Cu)
#define CCR2 REG32(TQ_UART_BASE + 0x10u)
#define CCR3 REG32(TQ_UART_BASE + 0x14u)
#define CESR REG8(TQ_UART_BASE + 0x1Cu)
#define CSR REG32(TQ_UART_BASE + 0x48u)
#define CFCLR REG32(TQ_UART_BASE + 0x68u)

#define CCR0_RE (1u << 0)
#define CCR0_TE (1u << 4)
#define CCR0_IDSEL (1u << 10)
#define CCR2_BGDM (1u << 4)
#define CCR3_CHR_8BIT (2u << 8)
#define CCR3_LSBF (1u << 12)
#define CESR_RIST (1u << 0)
#define CESR_TIST (1u << 4)
#define CSR_ORER (1u << 24)
#define CSR_PER (1u << 27)
#define CSR_FER (1u << 28)
#define CSR_TDRE (1u << 29)
#define CSR_RDRF (1u << 31)
#define CFCLR_ALL 0x9D070010u
#define CFCLR_RDRFC (1u << 31)
#define CFCLR_ERRORS (CSR_ORER | CSR_PER | CSR_FER) /* their clear bits sit at the same positions */

#define SCI_BRR ((TQ_UART_CLOCK_HZ + 8u * TQ_UART_BAUD) / (16u * TQ_UART_BAUD) - 1u)
#if SCI_BRR > 255u
#error "the baud rate is too low for SCICLK with BGDM = 1"
#endif

/* module stop (MSTPCRB bit 31 - channel), pin function select, its write protection */
#define MSTPCRB REG32(0x40203004u)
#define PRCR REG16(0x4001E3FAu)
#define PWPR REG8(0x40400D0Cu)
#define PWPRS REG8(0x40400D14u)
#define PFS(port, pin) REG32(0x40400800u + (port) * 0x40u + (pin) * 4u)
#define PWPR_B0WI 0x80u
#define PWPR_PFSWE 0x40u
#define PFS_PMR (1u << 16)
#define PFS_PSEL_SCI_ODD (5u << 24) /* SCI1/3/5/7/9 */

static void pins_to_sci(void) {
  PWPR = 0;
  PWPR = PWPR_PFSWE; /* B0WI cleared first, then PFS writes enabled */
  PWPRS = 0;
  PWPRS = PWPR_PFSWE;
  PFS(TQ_UART_PORT, TQ_UART_TX_PIN) = PFS_PSEL_SCI_ODD;
  PFS(TQ_UART_PORT, TQ_UART_RX_PIN) = PFS_PSEL_SCI_ODD;
  PFS(TQ_UART_PORT, TQ_UART_TX_PIN) = PFS_PSEL_SCI_ODD | PFS_PMR;
  PFS(TQ_UART_PORT, TQ_UART_RX_PIN) = PFS_PSEL_SCI_ODD | PFS_PMR;
  PWPR = 0;
  PWPR = PWPR_B0WI;
  PWPRS = 0;
  PWPRS = PWPR_B0WI;
}

void tq_io_init(void) {
  tq_clock_init();
  PRCR = 0xA502u; /* PRC1: module stop registers */
  MSTPCRB &= ~(1u << (31u - TQ_UART_CHANNEL));
  PRCR = 0xA500u;
  CCR0 = CCR0_IDSEL; /* receiver and transmitter off while configuring */
  CCR1 = 0;
  CCR3 = CCR3_LSBF | CCR3_CHR_8BIT; /* asynchronous, 1 stop bit, internal baud clock */
  CCR2 = ((uint32_t)SCI_BRR << 8) | CCR2_BGDM;
  CFCLR = CFCLR_ALL;
  pins_to_sci();
  CCR0 = CCR0_IDSEL | CCR0_RE | CCR0_TE;
  while ((CESR & (CESR_RIST | CESR_TIST)) != (CESR_RIST | CESR_TIST)) {
  }
}

int tq_io_getc(void) {
  for (;;) {
    uint32_t status = CSR;
    if (status & CFCLR_ERRORS) { /* a framing/parity/overrun error: drop it and keep listening */
      (void)RDR;
      CFCLR = CFCLR_ERRORS | CFCLR_RDRFC;
      continue;
    }
    if (status & CSR_RDRF) {
      int c = (int)(RDR & 0xFFu);
      CFCLR = CFCLR_RDRFC;
      return c;
    }
  }
}

void tq_io_putc(int c) {
  while (!(CSR & CSR_TDRE)) {
  }
  TDR = (uint32_t)c & 0xFFu;
}

void tq_io_exit(int code) {
  (void)code;
  for (;;) {
  }
}
