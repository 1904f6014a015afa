(note) => {
  if (!note) return [];
  const done = () => {};
  if (navigator.clipboard && window.isSecureContext) {
    navigator.clipboard.writeText(note).then(done, done);
  } else {
    const ta = document.createElement('textarea');
    ta.value = note; ta.style.position = 'fixed'; ta.style.opacity = '0';
    document.body.appendChild(ta); ta.select();
    try { document.execCommand('copy'); } catch (e) {}
    ta.remove();
  }
  return [];
}
