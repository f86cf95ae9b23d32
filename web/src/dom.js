// The one DOM helper the report pages share (embedded before report.js and sweep.js):
// el('tag', {class, text, attr: value}, ...children) builds an element; null children are
// skipped and anything that is not a node becomes text.
window.faultlineEl = function el(tag, attrs, ...children) {
  const e = document.createElement(tag);
  for (const [k, v] of Object.entries(attrs || {})) {
    if (k === 'class') e.className = v;
    else if (k === 'text') e.textContent = v;
    else e.setAttribute(k, v);
  }
  for (const c of children) {
    if (c == null) continue;
    e.append(c instanceof Node ? c : document.createTextNode(String(c)));
  }
  return e;
};
