// Accessibility checks run in the page by test_desktop.py.
({
  // WCAG 2 contrast of every visible piece of text against what is behind it
  // (AA: 4.5, or 3 for large text). Disabled controls are exempt, as in WCAG.
  contrastProblems() {
    const parse = (c) => {
      const m = (c.match(/[\d.]+/g) || [0, 0, 0, 0]).map(Number);
      return (m.length === 3 ? m.concat([1]) : m).slice(0, 4);
    };
    const lin = (v) => {
      v /= 255;
      return v <= 0.03928 ? v / 12.92 : Math.pow((v + 0.055) / 1.055, 2.4);
    };
    const lum = (c) => 0.2126 * lin(c[0]) + 0.7152 * lin(c[1]) + 0.0722 * lin(c[2]);
    const over = (top, bottom) =>
      [0, 1, 2].map((i) => top[i] * top[3] + bottom[i] * (1 - top[3])).concat([1]);
    function background(element) {
      const layers = [];
      for (let e = element; e; e = e.parentElement) {
        const style = getComputedStyle(e);
        if (style.backgroundImage !== "none") return null; // gradients, pictures: not judged
        const colour = parse(style.backgroundColor);
        if (colour[3] > 0) layers.push(colour);
        if (colour[3] === 1) break;
      }
      return layers.reverse().reduce((acc, layer) => over(layer, acc), [255, 255, 255, 1]);
    }
    const exempt = ".visually-hidden, [hidden], [aria-hidden=true], :disabled, option, select, " +
      "dialog:not([open])";
    const problems = [];
    document.querySelectorAll("body *").forEach((element) => {
      const text = Array.from(element.childNodes)
        .filter((n) => n.nodeType === 3)
        .map((n) => n.textContent.trim())
        .join("");
      if (!text || !element.getClientRects().length || element.closest(exempt)) return;
      const style = getComputedStyle(element);
      if (style.visibility !== "visible") return;
      for (let e = element; e; e = e.parentElement) {
        if (Number(getComputedStyle(e).opacity) < 1) return;
      }
      const back = background(element);
      if (!back) return;
      const fore = over(parse(style.color), back);
      const [a, b] = [lum(fore), lum(back)].sort((x, y) => y - x);
      const ratio = (a + 0.05) / (b + 0.05);
      const size = parseFloat(style.fontSize);
      const large = size >= 24 || (Number(style.fontWeight) >= 700 && size >= 18.66);
      if (ratio < (large ? 3 : 4.5)) {
        problems.push(`${ratio.toFixed(2)} ${element.tagName}.${element.className}: ${text.slice(0, 40)}`);
      }
    });
    return problems;
  },

  // Controls a screen reader could not name.
  unlabelled() {
    return Array.from(document.querySelectorAll("button, input:not([type=hidden]), select, textarea, a[href]"))
      .filter((e) => e.getClientRects().length && !e.closest("[hidden], dialog:not([open])"))
      .filter((e) => {
        const named = (e.getAttribute("aria-label") || "").trim() || (e.labels && e.labels.length) ||
          e.getAttribute("aria-labelledby") || e.textContent.trim();
        return !named;
      })
      .map((e) => e.outerHTML.slice(0, 80));
  },

  // Where keyboard focus is now, and whether it shows.
  focusStop() {
    const e = document.activeElement;
    const zones = [
      [".topbar", "topbar"], ["#my-interactions", "list"], [".toolbar", "toolbar"],
      [".transcript", "transcript"], [".composer", "composer"], [".customer-panel", "customer"],
    ];
    const found = zones.find(([selector]) => e.closest(selector));
    const zone = found ? found[1] : "other";
    const style = getComputedStyle(e);
    const shows = style.outlineStyle !== "none" && parseFloat(style.outlineWidth) >= 2;
    return [`${zone}:${e.tagName}.${e.className}`, shows];
  },
})
