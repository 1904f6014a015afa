() => {
  const go = () => {
    const chat = document.querySelector('#vb-chat');
    if (!chat) return;
    const rows = chat.querySelectorAll('.message-row.user-row');
    const last = rows[rows.length - 1];
    const wrap = chat.querySelector('.bubble-wrap');
    if (!last || !wrap) return;
    const top = last.getBoundingClientRect().top - wrap.getBoundingClientRect().top + wrap.scrollTop - 44;
    wrap.scrollTo({ top: Math.max(0, top) });
    const box = chat.getBoundingClientRect();
    if (box.top < 0 || box.top > window.innerHeight * 0.6) chat.scrollIntoView({ block: 'start' });
  };
  [30, 200, 600].forEach((ms) => setTimeout(go, ms));
  return [];
}
