(note) => {
  if (!note) return [];
  const blob = new Blob([note], { type: 'text/markdown;charset=utf-8' });
  const a = document.createElement('a');
  a.href = URL.createObjectURL(blob);
  a.download = 'verbatim-evidence-' + new Date().toISOString().slice(0, 19).replace(/[:T]/g, '-') + '.md';
  document.body.appendChild(a); a.click(); a.remove();
  setTimeout(() => URL.revokeObjectURL(a.href), 2000);
  return [];
}
