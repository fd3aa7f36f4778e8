/* adsi_rx: decode caller-ID / message-waiting FSK with spandsp's adsi_rx.
 * Used by the tone package's integration tests as an independent decoder.
 *
 *   adsi_rx class|clip < audio.raw      (16-bit signed LE mono, 8000 Hz)
 *
 * Prints one line per message spandsp accepts: "msg TYPE LEN: HEX", then a
 * line per field: "field TYPE: HEX". spandsp drops messages whose checksum
 * is wrong, so a corrupted message prints nothing.
 */
#include <stdio.h>
#include <string.h>
#include <stdint.h>
#include <spandsp.h>

static adsi_rx_state_t *rx;

static void put_msg(void *user_data, const uint8_t *msg, int len)
{
    uint8_t type;
    const uint8_t *body;
    int flen, pos, i;

    printf("msg %02x %d:", msg[0], len);
    for (i = 0; i < len; i++)
        printf(" %02x", msg[i]);
    printf("\n");
    pos = -1;
    while ((pos = adsi_next_field(rx, msg, len, pos, &type, &body, &flen)) > 0) {
        if (flen < 0)
            break;
        printf("field %02x:", type);
        for (i = 0; i < flen; i++)
            printf(" %02x", body[i]);
        printf("\n");
    }
    fflush(stdout);
}

int main(int argc, char **argv)
{
    int16_t buf[160];
    size_t n;
    int std = ADSI_STANDARD_CLASS;

    if (argc > 1 && strcmp(argv[1], "clip") == 0)
        std = ADSI_STANDARD_CLIP;
    rx = adsi_rx_init(NULL, std, put_msg, NULL);
    if (rx == NULL)
        return 2;
    while ((n = fread(buf, sizeof(buf[0]), 160, stdin)) > 0)
        adsi_rx(rx, buf, (int) n);
    /* flush with silence so a message at the very end is delivered */
    memset(buf, 0, sizeof(buf));
    for (n = 0; n < 50; n++)
        adsi_rx(rx, buf, 160);
    adsi_rx_free(rx);
    return 0;
}
