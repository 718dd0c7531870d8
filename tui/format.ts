/** Text helpers for fixed-width cells. */
import type { FleetRow, LinkHealth } from '../src/client/fleet/index.js';

/** Cuts `text` to `width` columns (with an ellipsis when cut) and pads it to exactly that width. */
export function fit(text: string, width: number): string {
  if (width <= 0) return '';
  const flat = text.replace(/[\r\n\t]+/g, ' ');
  const chars = [...flat];
  if (chars.length > width) return chars.slice(0, Math.max(0, width - 1)).join('') + '…';
  return flat + ' '.repeat(width - chars.length);
}

/** Cuts without padding (for the last cell of a line). */
export function clip(text: string, width: number): string {
  return fit(text, width).trimEnd();
}

/** 42s, 5m, 3h, 2d. */
export function age(fromIso: string | null, now: number): string {
  if (!fromIso) return '-';
  const seconds = Math.max(0, Math.floor((now - Date.parse(fromIso)) / 1000));
  if (seconds < 60) return `${seconds}s`;
  if (seconds < 3600) return `${Math.floor(seconds / 60)}m`;
  if (seconds < 86_400) return `${Math.floor(seconds / 3600)}h`;
  return `${Math.floor(seconds / 86_400)}d`;
}

/** A colour name per status; callers drop it when colour is off. */
export function statusColor(status: string): string | undefined {
  switch (status) {
    case 'running':
    case 'starting':
      return 'green';
    case 'paused':
    case 'stopping':
      return 'yellow';
    case 'interactive':
      return 'magenta';
    case 'completed':
      return 'cyan';
    case 'failed':
    case 'crashed':
    case 'lost':
    case 'unreachable':
      return 'red';
    default:
      return undefined;
  }
}

/** Where a loop runs, with a mark for a connection that is down. */
export function where(row: FleetRow): string {
  return row.location + healthMark(row.link);
}

function healthMark(link: LinkHealth): string {
  switch (link.state) {
    case 'lost':
    case 'unreachable':
      return ' ✗';
    case 'connecting':
      return ' …';
    default:
      return '';
  }
}

/** The status shown for a row: a remote that cannot be reached says so rather than its last known status. */
export function shownStatus(row: FleetRow): string {
  if (row.location !== 'local' && row.link.state === 'unreachable') return 'unreachable';
  return row.status;
}
