/* Renesas RA8M1 (EK-RA8M1) clocks: 20 MHz crystal -> PLL1 960 MHz -> PLL1P 480 MHz.
 *
 *   CPUCLK 480 MHz (the Cortex-M85), ICLK 240, PCLKA 120, PCLKB 60, PCLKC 60, PCLKD 120,
 *   PCLKE 240, BCLK 120, FCLK 60; SCICLK = PLL1P / 4 = 120 MHz (the console, tq_io_ra_sci.c).
 *
 * The steps and values follow the RA8M1 hardware manual's clock generation chapter and what
 * Renesas' FSP does for the same settings: unlock (PRCR), start the main oscillator, raise the
 * flash wait states before the clock (FLWT = 4 for ICLK 240 MHz), start the PLL, switch with
 * halved dividers first and settle, then the final dividers; I- and D-caches on (code and weights
 * are read from flash). Register addresses are the secure ones (the core leaves reset secure).
 * Not run by tinyq's tests (no RA8M1 emulator): docs/firmware.md says how to check it on a board. */
#include <stdint.h>

#include "tq_clock.h"

#define REG8(a) (*(volatile uint8_t *)(a))
#define REG16(a) (*(volatile uint16_t *)(a))
#define REG32(a) (*(volatile uint32_t *)(a))

#define SYSTEM 0x4001E000u
#define SCKDIVCR REG32(SYSTEM + 0x020u)
#define SCKDIVCR2 REG8(SYSTEM + 0x024u)
#define SCKSCR REG8(SYSTEM + 0x026u)
#define PLLCCR REG16(SYSTEM + 0x028u)
#define PLLCR REG8(SYSTEM + 0x02Au)
#define MOSCCR REG8(SYSTEM + 0x032u)
#define OSCSF REG8(SYSTEM + 0x03Cu)
#define PLLCCR2 REG16(SYSTEM + 0x04Cu)
#define SCICKDIVCR REG8(SYSTEM + 0x054u)
#define SCICKCR REG8(SYSTEM + 0x055u)
#define PRCR REG16(SYSTEM + 0x3FAu)
#define MOMCR REG8(SYSTEM + 0xA50u)
#define FLWT REG8(0x4001C11Cu)

#define PRCR_UNLOCK 0xA503u /* key 0xA5, PRC0 (clocks) and PRC1 (low power, module stop) */
#define PRCR_LOCK 0xA500u
#define OSCSF_MOSCSF (1u << 3)
#define OSCSF_PLLSF (1u << 5)
#define MOMCR_20MHZ_CRYSTAL 0x06u /* MODRV0 = 3 (8 to 24 MHz), MOSEL = 0 (resonator) */
/* PLIDIV = /2 (20 -> 10 MHz, within 6-12), PLSRCSEL = main oscillator, PLLMUL = 96 - 1 (960 MHz) */
#define PLLCCR_960MHZ ((uint16_t)((95u << 8) | 1u))
#define PLLCCR2_P2_Q4_R2 ((uint16_t)((1u << 8) | (3u << 4) | 1u)) /* PLL1P 480, PLL1Q 240, PLL1R 480 */
#define CKSEL_PLL1P 5u
/* SCKDIVCR fields: FCK[31:28] ICK[27:24] PCKE[23:20] BCK[19:16] PCKA[15:12] PCKB[11:8] PCKC[7:4]
 * PCKD[3:0]; 0 = /1, 1 = /2, 2 = /4, 3 = /8 */
#define DIV(fck, ick, pcke, bck, pcka, pckb, pckc, pckd)                                              \
  (((uint32_t)(fck) << 28) | ((uint32_t)(ick) << 24) | ((uint32_t)(pcke) << 20) |                 \
   ((uint32_t)(bck) << 16) | ((uint32_t)(pcka) << 12) | ((uint32_t)(pckb) << 8) | ((uint32_t)(pckc) << 4) | \
   (uint32_t)(pckd))
#define SCKDIVCR_FINAL DIV(3, 1, 1, 2, 2, 3, 3, 2)
#define SCKDIVCR_SETTLE DIV(3, 2, 2, 3, 3, 3, 3, 3) /* every bus clock at half its final rate or less */
#define CPUCK_DIV1 0u
#define CPUCK_DIV2 1u
#define FLWT_ICLK_240MHZ 4u
#define SCICK_DIV4 2u
#define SCICKCR_CKSREQ (1u << 6)
#define SCICKCR_CKSRDY (1u << 7)

/* Cortex-M85 caches (Armv8.1-M system control space) */
#define SCB_CCR REG32(0xE000ED14u)
#define SCB_CCSIDR REG32(0xE000ED80u)
#define SCB_CSSELR REG32(0xE000ED84u)
#define SCB_ICIALLU REG32(0xE000EF50u)
#define SCB_DCISW REG32(0xE000EF60u)
#define CCR_DC (1u << 16)
#define CCR_IC (1u << 17)

static void barrier(void) { __asm__ volatile("dsb 0xF\n\tisb 0xF" ::: "memory"); }

static void settle(unsigned loops) {
  for (volatile unsigned i = 0; i < loops; i++) {
  }
}

static void caches_on(void) {
  SCB_ICIALLU = 0; /* the I-cache holds nothing valid after reset until invalidated */
  barrier();
  SCB_CCR |= CCR_IC;
  barrier();
  SCB_CSSELR = 0; /* level 1 data cache */
  barrier();
  uint32_t ccsidr = SCB_CCSIDR;
  uint32_t sets = ((ccsidr >> 13) & 0x7FFFu) + 1u, ways = ((ccsidr >> 3) & 0x3FFu) + 1u;
  uint32_t line_shift = (ccsidr & 7u) + 4u, way_shift = (uint32_t)__builtin_clz((ways - 1u) | 1u);
  for (uint32_t set = 0; set < sets; set++) {
    for (uint32_t way = 0; way < ways; way++) {
      SCB_DCISW = (ways > 1u ? way << way_shift : 0u) | (set << line_shift);
    }
  }
  barrier();
  SCB_CCR |= CCR_DC;
  barrier();
}

void tq_clock_init(void) {
  PRCR = PRCR_UNLOCK;
  MOMCR = MOMCR_20MHZ_CRYSTAL;
  MOSCCR = 0; /* start the main oscillator */
  while (!(OSCSF & OSCSF_MOSCSF)) {
  }
  FLWT = FLWT_ICLK_240MHZ; /* before the clock rises */
  PLLCCR = PLLCCR_960MHZ;
  PLLCCR2 = PLLCCR2_P2_Q4_R2;
  PLLCR = 0; /* start PLL1 */
  while (!(OSCSF & OSCSF_PLLSF)) {
  }
  /* switch at half speed, settle, then the final dividers (the clock only ever rises in steps) */
  SCKDIVCR = SCKDIVCR_SETTLE;
  SCKDIVCR2 = CPUCK_DIV2;
  SCKSCR = CKSEL_PLL1P;
  settle(2000u);
  SCKDIVCR2 = CPUCK_DIV1;
  SCKDIVCR = SCKDIVCR_FINAL;
  /* SCICLK: stop it, choose PLL1P / 4, start it again */
  SCICKCR |= SCICKCR_CKSREQ;
  while (!(SCICKCR & SCICKCR_CKSRDY)) {
  }
  SCICKDIVCR = SCICK_DIV4;
  SCICKCR = (uint8_t)(CKSEL_PLL1P | SCICKCR_CKSREQ);
  SCICKCR &= (uint8_t)~SCICKCR_CKSREQ;
  while (SCICKCR & SCICKCR_CKSRDY) {
  }
  PRCR = PRCR_LOCK;
  caches_on();
}
