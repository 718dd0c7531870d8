export { Fleet, type FleetOptions } from './fleet.js';
export { rowKey } from './rows.js';
export type { FleetRow, LinkHealth, LoopDetail, ScreenText } from './types.js';
