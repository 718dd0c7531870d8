/** The one page served without a session: what to do to get one. Plain HTML, no script, no style. */
export function unauthorizedPage(): string {
  return [
    '<!doctype html>',
    '<html lang="en"><head><meta charset="utf-8"><title>ralph web: sign in</title></head><body>',
    '<h1>ralph web</h1>',
    '<p>This page needs the link <code>ralph web</code> printed when it started: it carries a one-time token.</p>',
    '<p>A token works once. For another browser, stop <code>ralph web</code> and start it again.</p>',
    '</body></html>',
    '',
  ].join('\n');
}
