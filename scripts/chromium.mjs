// Where Chromium is, for the browser tests and bench/web.mjs: RALPH_CHROMIUM when set (the only candidate
// then), else Debian's and Ubuntu's paths. Returns null when none is an executable file.
import { accessSync, constants } from 'node:fs';

export function findChromium() {
  const named = process.env.RALPH_CHROMIUM;
  for (const file of named ? [named] : ['/usr/bin/chromium', '/usr/bin/chromium-browser']) {
    try {
      accessSync(file, constants.X_OK);
      return file;
    } catch {
      // not here
    }
  }
  return null;
}
