// WCAG 2 contrast ratio of an element's text against what is behind it, evaluated in the page as
// `(this function)(selector)`. The text colour (its alpha times every ancestor's opacity) is laid over
// the element's background composited down through its ancestors to the canvas; a background gradient
// counts as each of its colour stops, and the answer is the worst case.
(selector) => {
  const parse = (c) => {
    const m = c.match(/[\d.]+/g).map(Number);
    return [m[0], m[1], m[2], m.length > 3 ? m[3] : 1];
  };
  const over = (fg, bg) => [0, 1, 2].map((i) => fg[i] * fg[3] + bg[i] * (1 - fg[3])).concat(1);
  const lum = (c) => {
    const l = c.slice(0, 3).map((v) => {
      v /= 255;
      return v <= 0.04045 ? v / 12.92 : ((v + 0.055) / 1.055) ** 2.4;
    });
    return 0.2126 * l[0] + 0.7152 * l[1] + 0.0722 * l[2];
  };
  const el = document.querySelector(selector);
  const chain = [];
  let opacity = 1;
  for (let e = el; e; e = e.parentElement) {
    chain.unshift(e);
    opacity *= Number(getComputedStyle(e).opacity);
  }
  let backs = [[255, 255, 255, 1]];               // the canvas, before any background is painted
  for (const e of chain) {
    const s = getComputedStyle(e);
    backs = backs.map((b) => over(parse(s.backgroundColor), b));
    const stops = (s.backgroundImage.match(/rgba?\([^)]*\)/g) || []).map(parse);
    if (stops.length) backs = backs.flatMap((b) => stops.map((g) => over(g, b)));
  }
  const fg = parse(getComputedStyle(el).color);
  fg[3] *= opacity;
  const ratios = backs.map((b) => {
    const a = lum(over(fg, b)), c = lum(b);
    return (Math.max(a, c) + 0.05) / (Math.min(a, c) + 0.05);
  });
  return { ratio: Math.min(...ratios), color: getComputedStyle(el).color, text: el.innerText };
}
