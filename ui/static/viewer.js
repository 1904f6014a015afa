const scrollToHit = () => {
  const hit = element.querySelector('#vb-doc-hit');
  const body = element.querySelector('.vb-doc-body');
  if (!hit || !body) return;
  const offset = hit.getBoundingClientRect().top - body.getBoundingClientRect().top + body.scrollTop;
  body.scrollTop = Math.max(0, offset - body.clientHeight / 4);
  const box = element.getBoundingClientRect();
  if (box.top < 0 || box.top > window.innerHeight - 160) element.scrollIntoView({ block: 'start' });
};
watch('value', () => requestAnimationFrame(scrollToHit));
