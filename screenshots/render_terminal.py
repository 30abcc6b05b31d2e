#!/usr/bin/env python3
"""Render a captured terminal screen (text with ANSI SGR colour codes, e.g. from
`tmux capture-pane -e -p`) to a PNG, cell by cell, in DejaVu Sans Mono.

Usage: render_terminal.py INPUT.txt OUTPUT.png [--title TEXT]
Only SGR sequences (ESC [ ... m) are interpreted: 16/256/true colours, bold, reverse;
any other escape sequence is dropped.
"""
import re
import sys

from PIL import Image, ImageDraw, ImageFont

FONT = "/usr/share/fonts/truetype/dejavu/DejaVuSansMono.ttf"
FONT_BOLD = "/usr/share/fonts/truetype/dejavu/DejaVuSansMono-Bold.ttf"
SIZE = 15
BG = (24, 26, 33)
FG = (220, 223, 228)
BASE16 = [
    (40, 42, 54), (230, 90, 90), (90, 200, 110), (230, 200, 90),
    (90, 150, 240), (200, 120, 220), (90, 200, 210), (200, 200, 200),
    (110, 110, 120), (255, 120, 120), (120, 230, 140), (255, 230, 120),
    (120, 180, 255), (230, 150, 250), (120, 230, 240), (255, 255, 255),
]
SGR = re.compile(r"\x1b\[([0-9;]*)m")
OTHER_ESC = re.compile(r"\x1b(\[[0-9;?]*[A-Za-z]|\][^\x07]*\x07|.)")


def xterm256(n):
    if n < 16:
        return BASE16[n]
    if n < 232:
        n -= 16
        steps = [0, 95, 135, 175, 215, 255]
        return (steps[n // 36], steps[(n // 6) % 6], steps[n % 6])
    v = 8 + (n - 232) * 10
    return (v, v, v)


def apply_sgr(params, state):
    codes = [int(p) if p else 0 for p in params.split(";")] if params else [0]
    i = 0
    while i < len(codes):
        c = codes[i]
        if c == 0:
            state.update(fg=None, bg=None, bold=False, reverse=False)
        elif c == 1:
            state["bold"] = True
        elif c == 22:
            state["bold"] = False
        elif c == 7:
            state["reverse"] = True
        elif c == 27:
            state["reverse"] = False
        elif 30 <= c <= 37:
            state["fg"] = BASE16[c - 30]
        elif 90 <= c <= 97:
            state["fg"] = BASE16[c - 90 + 8]
        elif 40 <= c <= 47:
            state["bg"] = BASE16[c - 40]
        elif 100 <= c <= 107:
            state["bg"] = BASE16[c - 100 + 8]
        elif c == 39:
            state["fg"] = None
        elif c == 49:
            state["bg"] = None
        elif c in (38, 48) and i + 1 < len(codes):
            key = "fg" if c == 38 else "bg"
            if codes[i + 1] == 5 and i + 2 < len(codes):
                state[key] = xterm256(codes[i + 2])
                i += 2
            elif codes[i + 1] == 2 and i + 4 < len(codes):
                state[key] = tuple(codes[i + 2:i + 5])
                i += 4
        i += 1


def parse(text):
    """Yields rows of (char, fg, bg, bold) cells."""
    state = {"fg": None, "bg": None, "bold": False, "reverse": False}
    rows = []
    for line in text.split("\n"):
        cells = []
        pos = 0
        while pos < len(line):
            m = SGR.match(line, pos)
            if m:
                apply_sgr(m.group(1), state)
                pos = m.end()
                continue
            m = OTHER_ESC.match(line, pos)
            if m:
                pos = m.end()
                continue
            ch = line[pos]
            fg, bg = state["fg"] or FG, state["bg"] or BG
            if state["reverse"]:
                fg, bg = bg, fg
            cells.append((ch, fg, bg, state["bold"]))
            pos += 1
        rows.append(cells)
    while rows and not rows[-1]:
        rows.pop()
    return rows


# Braille dot bit -> (column, row) in the 2x4 cell grid (Unicode braille pattern order).
BRAILLE_DOTS = [(0, 0), (0, 1), (0, 2), (1, 0), (1, 1), (1, 2), (0, 3), (1, 3)]


def draw_braille(draw, px, py, cw, ch, bits, fill):
    """Draws a braille pattern cell as dots (DejaVu Sans Mono has no braille glyphs; charts
    drawn by ratatui use them)."""
    r = max(1, cw // 6)
    for bit, (col, row) in enumerate(BRAILLE_DOTS):
        if bits & (1 << bit):
            cx = px + (col * 2 + 1) * cw // 4
            cy = py + (row * 2 + 1) * ch // 8
            draw.ellipse([cx - r, cy - r, cx + r, cy + r], fill=fill)


def main():
    if len(sys.argv) < 3:
        sys.exit("usage: render_terminal.py INPUT.txt OUTPUT.png [--title TEXT]")
    title = None
    if "--title" in sys.argv:
        title = sys.argv[sys.argv.index("--title") + 1]
    with open(sys.argv[1], encoding="utf-8", errors="replace") as f:
        rows = parse(f.read())
    font = ImageFont.truetype(FONT, SIZE)
    bold = ImageFont.truetype(FONT_BOLD, SIZE)
    cw = round(font.getlength("M"))
    ch = SIZE + 5
    cols = max((len(r) for r in rows), default=1)
    pad = 14
    top = pad + (ch + 8 if title else 0)
    img = Image.new("RGB", (cols * cw + 2 * pad, len(rows) * ch + top + pad), BG)
    draw = ImageDraw.Draw(img)
    if title:
        draw.text((pad, pad), title, font=bold, fill=(150, 160, 180))
    for y, row in enumerate(rows):
        for x, (c, fg, bg, is_bold) in enumerate(row):
            px, py = pad + x * cw, top + y * ch
            if bg != BG:
                draw.rectangle([px, py, px + cw - 1, py + ch - 1], fill=bg)
            if 0x2800 <= ord(c) <= 0x28FF:
                draw_braille(draw, px, py, cw, ch, ord(c) - 0x2800, fg)
            elif c != " ":
                draw.text((px, py + 2), c, font=bold if is_bold else font, fill=fg)
    img.save(sys.argv[2])


if __name__ == "__main__":
    main()
