/**
 * OpenZiti identity files: `{ztAPI, ztAPIs?, id: {cert, key, ca}}` where each of cert/key/ca is inline
 * (`pem:...` or a raw PEM), `file://<path>` or a plain path; relative paths are taken from the JSON file's folder.
 */
import {
  createPrivateKey,
  createPublicKey,
  randomBytes,
  type KeyObject,
  type X509Certificate,
} from 'node:crypto';
import { open, readFile, rename, unlink } from 'node:fs/promises';
import { dirname, isAbsolute, resolve } from 'node:path';
import { IdentityExpiredError, InvalidIdentityError } from './errors.js';
import { commonName, parseCertificates, pemBlocks } from './controller/pem.js';

export interface ZitiTlsOptions {
  cert: string;
  key: string;
  ca: string[];
}

export interface ZitiIdentity {
  /** The JSON file the identity came from (or will be saved to). */
  readonly file: string;
  /** The controller's client API address as written in the file. */
  readonly ztAPI: URL;
  /** All controller addresses (ztAPI first). */
  readonly ztAPIs: URL[];
  /** Client certificate chain in PEM, leaf first. */
  readonly cert: string;
  /** Private key in PEM. */
  readonly key: string;
  /** Trusted CA certificates, one PEM each. */
  readonly ca: string[];
  /** Common name of the client certificate. */
  readonly name: string;
  readonly notAfter: Date;
  /** Options for node:tls / node:https: client certificate, key and trusted CAs. */
  tlsOptions(): ZitiTlsOptions;
}

export interface IdentityMaterial {
  file: string;
  ztAPI: string | URL;
  ztAPIs?: Array<string | URL>;
  cert: string;
  key: string;
  ca: string | string[];
}

export interface LoadIdentityOptions {
  /** Clock used for the expiry check (tests). */
  now?: Date;
}

/** Reads and validates an identity JSON file. */
export async function loadIdentity(file: string, options: LoadIdentityOptions = {}): Promise<ZitiIdentity> {
  let text: string;
  try {
    text = await readFile(file, 'utf8');
  } catch (err) {
    throw new InvalidIdentityError(
      file,
      `cannot read the file (${(err as NodeJS.ErrnoException).code ?? String(err)})`,
      {
        cause: err,
      },
    );
  }
  return parseIdentity(text, file, options);
}

/** Validates identity JSON text; `file` names it in errors and anchors relative paths. */
export async function parseIdentity(
  text: string,
  file: string,
  options: LoadIdentityOptions = {},
): Promise<ZitiIdentity> {
  let json: unknown;
  try {
    json = JSON.parse(text);
  } catch (err) {
    throw new InvalidIdentityError(file, `not valid JSON (${(err as Error).message})`, { cause: err });
  }
  if (!isRecord(json)) throw new InvalidIdentityError(file, 'expected a JSON object');
  const id = json.id;
  if (!isRecord(id)) throw new InvalidIdentityError(file, 'missing "id" object with cert, key and ca');
  const ztAPIs = Array.isArray(json.ztAPIs)
    ? json.ztAPIs.filter((v): v is string => typeof v === 'string')
    : [];
  const ztAPI = typeof json.ztAPI === 'string' && json.ztAPI !== '' ? json.ztAPI : ztAPIs[0];
  if (ztAPI === undefined) throw new InvalidIdentityError(file, 'missing "ztAPI" (the controller address)');
  const baseDir = dirname(resolve(file));
  const [cert, key, ca] = await Promise.all(
    (['cert', 'key', 'ca'] as const).map((field) => resolveMaterial(file, baseDir, field, id[field])),
  );
  return identityFromPem({ file, ztAPI, ztAPIs, cert: cert!, key: key!, ca: ca! }, options);
}

/** Builds a validated identity from PEM material already in memory. */
export function identityFromPem(material: IdentityMaterial, options: LoadIdentityOptions = {}): ZitiIdentity {
  const { file } = material;
  const ztAPI = parseUrl(file, material.ztAPI);
  const ztAPIs = [ztAPI, ...(material.ztAPIs ?? []).map((u) => parseUrl(file, u))].filter(
    (u, i, all) => all.findIndex((o) => o.href === u.href) === i,
  );

  const chain = certificates(file, 'cert', material.cert);
  const leaf = chain[0];
  if (leaf === undefined) throw new InvalidIdentityError(file, 'id.cert holds no PEM certificate');
  const caText = Array.isArray(material.ca) ? material.ca.join('\n') : material.ca;
  const caCerts = certificates(file, 'ca', caText);
  if (caCerts.length === 0)
    throw new InvalidIdentityError(file, 'id.ca (the CA bundle) holds no PEM certificate');

  const privateKey = parseKey(file, material.key);
  if (!sameKey(createPublicKey(privateKey), leaf.publicKey)) {
    throw new InvalidIdentityError(file, 'id.key does not match the public key of id.cert');
  }

  const name = commonName(leaf) ?? file;
  const notAfter = new Date(leaf.validTo);
  if (Number.isNaN(notAfter.getTime()))
    throw new InvalidIdentityError(file, `unreadable notAfter "${leaf.validTo}"`);
  const now = options.now ?? new Date();
  if (notAfter.getTime() < now.getTime()) throw new IdentityExpiredError(file, name, notAfter);

  const cert = chain.map((c) => c.toString()).join('');
  const key = privateKey.export({
    type: privateKey.asymmetricKeyType === 'ec' ? 'sec1' : 'pkcs8',
    format: 'pem',
  });
  const keyPem = typeof key === 'string' ? key : key.toString('utf8');
  const ca = caCerts.map((c) => c.toString());
  return {
    file,
    ztAPI,
    ztAPIs,
    cert,
    key: keyPem,
    ca,
    name,
    notAfter,
    tlsOptions: () => ({ cert, key: keyPem, ca: [...ca] }),
  };
}

/**
 * Writes the identity as JSON with inline `pem:` material, readable by its owner only (mode 0600). The write is
 * atomic: a temporary file in the same folder, flushed to disk, renamed over `path`, then the folder flushed, so
 * a crash leaves either the old file or the new one.
 */
export async function saveIdentity(path: string, identity: ZitiIdentity): Promise<void> {
  const body = {
    ztAPI: identity.ztAPI.href,
    ztAPIs: identity.ztAPIs.map((u) => u.href),
    id: {
      cert: `pem:${identity.cert}`,
      key: `pem:${identity.key}`,
      ca: `pem:${identity.ca.join('')}`,
    },
  };
  await writeFileAtomic(path, `${JSON.stringify(body, null, 2)}\n`);
}

/** Replaces `path` with `text` atomically and durably (temporary file, fsync, rename, fsync of the folder). */
export async function writeFileAtomic(path: string, text: string | Buffer, mode = 0o600): Promise<void> {
  const tmp = `${path}.${process.pid}.${randomBytes(4).toString('hex')}.tmp`;
  const handle = await open(tmp, 'wx', mode);
  try {
    await handle.writeFile(text);
    await handle.chmod(mode);
    await handle.sync();
  } finally {
    await handle.close();
  }
  try {
    await rename(tmp, path);
  } catch (err) {
    await unlink(tmp).catch(() => undefined);
    throw err;
  }
  await syncFolder(dirname(resolve(path)));
}

async function syncFolder(dir: string): Promise<void> {
  let handle;
  try {
    handle = await open(dir, 'r');
    await handle.sync();
  } catch {
    // Some file systems refuse fsync on a folder; the rename itself is still atomic there.
  } finally {
    await handle?.close();
  }
}

async function resolveMaterial(
  file: string,
  baseDir: string,
  field: string,
  value: unknown,
): Promise<string> {
  if (typeof value !== 'string' || value.trim() === '') {
    throw new InvalidIdentityError(file, `missing "id.${field}"`);
  }
  if (value.startsWith('pem:')) return value.slice(4);
  if (value.trimStart().startsWith('-----BEGIN')) return value;
  const raw = value.startsWith('file://') ? decodeURIComponent(value.slice('file://'.length)) : value;
  const path = isAbsolute(raw) ? raw : resolve(baseDir, raw);
  try {
    return await readFile(path, 'utf8');
  } catch (err) {
    const code = (err as NodeJS.ErrnoException).code ?? String(err);
    throw new InvalidIdentityError(file, `id.${field}: cannot read ${path} (${code})`, { cause: err });
  }
}

function certificates(file: string, field: string, text: string): X509Certificate[] {
  try {
    return parseCertificates(text);
  } catch (err) {
    throw new InvalidIdentityError(
      file,
      `id.${field} holds an unparsable certificate (${(err as Error).message})`,
      {
        cause: err,
      },
    );
  }
}

function parseKey(file: string, text: string): KeyObject {
  const blocks = [
    ...pemBlocks(text, 'PRIVATE KEY'),
    ...pemBlocks(text, 'EC PRIVATE KEY'),
    ...pemBlocks(text, 'RSA PRIVATE KEY'),
  ];
  const block = blocks[0];
  if (block === undefined) throw new InvalidIdentityError(file, 'id.key holds no PEM private key');
  try {
    return createPrivateKey(block);
  } catch (err) {
    throw new InvalidIdentityError(file, `id.key is unparsable (${(err as Error).message})`, { cause: err });
  }
}

function sameKey(a: KeyObject, b: KeyObject): boolean {
  return a.export({ type: 'spki', format: 'der' }).equals(b.export({ type: 'spki', format: 'der' }));
}

function parseUrl(file: string, value: string | URL): URL {
  let url: URL;
  try {
    url = new URL(value);
  } catch (err) {
    throw new InvalidIdentityError(file, `ztAPI "${String(value)}" is not a URL`, { cause: err });
  }
  if (url.protocol !== 'https:')
    throw new InvalidIdentityError(file, `ztAPI "${url.href}" must be an https:// URL`);
  return url;
}

function isRecord(v: unknown): v is Record<string, unknown> {
  return typeof v === 'object' && v !== null && !Array.isArray(v);
}
