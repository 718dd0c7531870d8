// Types for chromium.mjs.
export declare function findChromium(): string | null;
