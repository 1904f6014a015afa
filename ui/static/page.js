() => {
  if (window.__verbatimBridge) return;
  window.__verbatimBridge = true;
  document.addEventListener('click', (ev) => {
    const el = ev.target && ev.target.closest ? ev.target.closest('button.vb-open') : null;
    if (!el || !el.value) return;
    ev.preventDefault();
    ev.stopPropagation();
    const box = document.querySelector('#vb-open-key textarea, #vb-open-key input');
    if (!box) return;
    const proto = Object.getPrototypeOf(box);
    const setter = Object.getOwnPropertyDescriptor(proto, 'value').set;
    setter.call(box, el.value + '#' + Date.now());
    box.dispatchEvent(new Event('input', { bubbles: true }));
  }, true);
}
