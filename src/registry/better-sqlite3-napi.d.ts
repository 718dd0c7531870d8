/** better-sqlite3 13, installed under another name beside 12 (see sqlite.ts): the same API. */
declare module 'better-sqlite3-napi' {
  import Database from 'better-sqlite3';
  export default Database;
}
