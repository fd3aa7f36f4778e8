package display

import (
	"encoding/binary"
	"errors"
	"hash/crc32"
	"image"
	"image/color"
	"io"
)

// EncodePNG writes img as a PNG whose image data is stored, not
// compressed: gray images as 8-bit grayscale, everything else as 8-bit
// RGBA. A display frame is a few kilobytes either way, and the standard
// image/png (its compressor, and its decoder, which registering the format
// links in) would add 0.2 MB to the armv6 binary. Any PNG reader reads the
// result (TestEncodePNGRoundTrip decodes it with image/png).
func EncodePNG(w io.Writer, img image.Image) error {
	b := img.Bounds()
	width, height := b.Dx(), b.Dy()
	if width <= 0 || height <= 0 || width > 1<<24 || height > 1<<24 {
		return errors.New("display: png: invalid image size " + b.String())
	}
	gray, isGray := img.(*image.Gray)
	colorType, bpp := byte(6), 4 // RGBA
	if isGray {
		colorType, bpp = 0, 1
	}
	// scanlines, each with filter type 0 (none)
	raw := make([]byte, 0, height*(1+width*bpp))
	for y := b.Min.Y; y < b.Max.Y; y++ {
		raw = append(raw, 0)
		if isGray {
			i := gray.PixOffset(b.Min.X, y)
			raw = append(raw, gray.Pix[i:i+width]...)
			continue
		}
		for x := b.Min.X; x < b.Max.X; x++ {
			c := color.NRGBAModel.Convert(img.At(x, y)).(color.NRGBA)
			raw = append(raw, c.R, c.G, c.B, c.A)
		}
	}

	// zlib stream (RFC 1950) of stored deflate blocks (RFC 1951 3.2.4)
	z := make([]byte, 0, len(raw)+len(raw)/65535*5+16)
	z = append(z, 0x78, 0x01)
	for rest := raw; ; {
		n := min(len(rest), 65535)
		final := byte(0)
		if n == len(rest) {
			final = 1
		}
		z = append(z, final, byte(n), byte(n>>8), ^byte(n), ^byte(n>>8))
		z = append(z, rest[:n]...)
		rest = rest[n:]
		if final == 1 {
			break
		}
	}
	z = binary.BigEndian.AppendUint32(z, adler32(raw))

	ihdr := make([]byte, 13)
	binary.BigEndian.PutUint32(ihdr[0:], uint32(width))
	binary.BigEndian.PutUint32(ihdr[4:], uint32(height))
	ihdr[8], ihdr[9] = 8, colorType // bit depth 8; compression, filter, interlace 0

	out := []byte("\x89PNG\r\n\x1a\n")
	out = pngChunk(out, "IHDR", ihdr)
	out = pngChunk(out, "IDAT", z)
	out = pngChunk(out, "IEND", nil)
	_, err := w.Write(out)
	return err
}

func pngChunk(out []byte, typ string, data []byte) []byte {
	out = binary.BigEndian.AppendUint32(out, uint32(len(data)))
	start := len(out)
	out = append(out, typ...)
	out = append(out, data...)
	return binary.BigEndian.AppendUint32(out, crc32.ChecksumIEEE(out[start:]))
}

func adler32(p []byte) uint32 {
	const mod = 65521
	a, b := uint32(1), uint32(0)
	for len(p) > 0 {
		n := min(len(p), 5552) // the most bytes before b can overflow
		for _, c := range p[:n] {
			a += uint32(c)
			b += a
		}
		a, b = a%mod, b%mod
		p = p[n:]
	}
	return b<<16 | a
}
