package appliance

import (
	"fmt"
	"strings"

	"github.com/boombuler/barcode/qr"
)

// QR codes for enrolment credentials and TOTP keys, drawn from the module
// grid of boombuler/barcode's encoder (the one pquerna/otp already uses for
// its key images), so no image library is needed: the terminal gets
// half-block characters, the admin console an SVG.

// qrModules encodes text (error correction M) and returns its grid with a
// quiet zone of 4 modules.
func qrModules(text string) ([][]bool, error) {
	code, err := qr.Encode(text, qr.M, qr.Auto)
	if err != nil {
		return nil, fmt.Errorf("qr code: %w", err)
	}
	b := code.Bounds()
	n := b.Dx()
	const quiet = 4
	grid := make([][]bool, n+2*quiet)
	for y := range grid {
		grid[y] = make([]bool, n+2*quiet)
	}
	for y := 0; y < n; y++ {
		for x := 0; x < n; x++ {
			r, _, _, _ := code.At(b.Min.X+x, b.Min.Y+y).RGBA()
			grid[y+quiet][x+quiet] = r < 0x8000
		}
	}
	return grid, nil
}

// qrTerminal draws text as a QR code with Unicode half blocks, dark on
// light, two module rows per line.
func qrTerminal(text string) (string, error) {
	g, err := qrModules(text)
	if err != nil {
		return "", err
	}
	var sb strings.Builder
	for y := 0; y < len(g); y += 2 {
		for x := range g[y] {
			top, bottom := g[y][x], y+1 < len(g) && g[y+1][x]
			switch {
			case top && bottom:
				sb.WriteRune(' ')
			case top:
				sb.WriteRune('▄')
			case bottom:
				sb.WriteRune('▀')
			default:
				sb.WriteRune('█')
			}
		}
		sb.WriteByte('\n')
	}
	return sb.String(), nil
}

// qrSVG draws text as an SVG document (one path, crisp at any size).
func qrSVG(text string) (string, error) {
	g, err := qrModules(text)
	if err != nil {
		return "", err
	}
	var path strings.Builder
	for y, row := range g {
		for x, dark := range row {
			if dark {
				fmt.Fprintf(&path, "M%d %dh1v1h-1z", x, y)
			}
		}
	}
	n := len(g)
	return fmt.Sprintf(`<svg xmlns="http://www.w3.org/2000/svg" viewBox="0 0 %d %d" shape-rendering="crispEdges"><rect width="%d" height="%d" fill="#fff"/><path d="%s" fill="#000"/></svg>`,
		n, n, n, n, path.String()), nil
}
