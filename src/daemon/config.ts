/**
 * The daemon's configuration file: JSON with `//` and `/* *\/` comments (JSONC), validated field by field.
 * Every fault is one line naming the file and the field. `daemonConfigTemplate()` is what `ralph daemon
 * init` writes.
 */
import { readFileSync, realpathSync, statSync } from 'node:fs';
import { isAbsolute, join, resolve } from 'node:path';
import { z } from 'zod';
import { ralphPaths, type RalphPaths } from '../config/paths.js';
import { ExitCode, RalphError, errorMessage } from '../errors.js';
import { summarizeIssues } from '../protocol/validate.js';
import { DEADLINE_GRACE_SECONDS, type KubernetesExecutorConfig } from './kubernetes/spec.js';
import { rolesSchema, type Role } from './roles.js';

export interface DaemonConfig {
  /** The file it was read from (absolute), or null when built in code. */
  file: string | null;
  /** Enrolled Ziti identity file of the daemon. */
  identity: string;
  /** The one Ziti service it binds. */
  service: string;
  /** Task folders must resolve inside it (its real path). */
  workspace: string;
  maxLoops: number;
  /** Ziti identity id or name → role. */
  roles: Record<string, Role>;
  /** The local Unix socket. */
  socket: string;
  audit: string;
  journal: string;
  /**
   * The terminator identity it binds with, so that dialers can pick this daemon among several hosting the
   * same service; null for none (the usual case: one daemon per service).
   */
  terminator: string | null;
  /** Where loops run: detached runner processes on this box (the default), or Jobs on a Kubernetes cluster. */
  executor?: ExecutorConfig | undefined;
}

export type ExecutorConfig =
  | { kind: 'process' }
  | (KubernetesExecutorConfig & {
      /** The executor's record of its loops (SQLite). */
      store: string;
    });

const MAX_CONFIG_BYTES = 1024 * 1024;

const nonEmpty = z.string().min(1, 'must not be empty');

/** A Kubernetes name: DNS-1123 label (namespaces, Secrets) or subdomain (storage classes). */
const dnsLabel = z
  .string()
  .regex(/^[a-z0-9]([-a-z0-9]{0,61}[a-z0-9])?$/, 'must be a DNS-1123 label (lower case, digits, -)');
const dnsSubdomain = z
  .string()
  .max(253)
  .regex(/^[a-z0-9]([-a-z0-9.]*[a-z0-9])?$/, 'must be a DNS-1123 subdomain (lower case, digits, - and .)');
const quantity = z
  .string()
  .regex(/^[0-9]+(\.[0-9]+)?(m|k|Ki|Mi|Gi|Ti|M|G|T)?$/, 'must be a quantity such as 500m, 2, 512Mi or 4Gi');
const resourceList = z.strictObject({ cpu: quantity.optional(), memory: quantity.optional() });

const kubernetesSchema = z.strictObject({
  kind: z.literal('kubernetes'),
  namespace: dnsLabel,
  image: nonEmpty.max(1024),
  imagePullPolicy: z.enum(['Always', 'IfNotPresent', 'Never']).default('IfNotPresent'),
  kubeconfig: nonEmpty.nullable().default(null),
  resources: z
    .strictObject({ requests: resourceList.optional(), limits: resourceList.optional() })
    .default({ requests: { cpu: '500m', memory: '1Gi' }, limits: { memory: '2Gi' } }),
  storageClass: dnsSubdomain.nullable().default(null),
  storageSize: quantity.default('5Gi'),
  secret: dnsSubdomain.nullable().default(null),
  ttlSecondsAfterFinished: z
    .number()
    .int()
    .min(0)
    .max(30 * 86400)
    .default(86400),
  nodeSelector: z.record(z.string().max(317), z.string().max(63)).default({}),
  tolerations: z
    .array(
      z.strictObject({
        key: z.string().max(317).optional(),
        operator: z.enum(['Exists', 'Equal']).optional(),
        value: z.string().max(63).optional(),
        effect: z.enum(['NoSchedule', 'PreferNoSchedule', 'NoExecute']).optional(),
        tolerationSeconds: z.number().int().optional(),
      }),
    )
    .max(32)
    .default([]),
  hostNetwork: z.boolean().default(false),
  runAsUser: z.number().int().min(1).max(2147483647).default(65532),
  deadlineGraceSeconds: z.number().int().min(0).max(86400).default(DEADLINE_GRACE_SECONDS),
  nodePath: nonEmpty.max(4096).default('/usr/local/bin/node'),
  maxTaskBytes: z
    .number()
    .int()
    .min(1)
    .max(16 * 1024 ** 3)
    .default(512 * 1024 ** 2),
  awaitFilesMs: z.number().int().min(1000).nullable().default(null),
  store: nonEmpty.nullable().default(null),
});

const executorSchema = z
  .discriminatedUnion('kind', [z.strictObject({ kind: z.literal('process') }), kubernetesSchema])
  .default({ kind: 'process' });

const schema = z.strictObject({
  identity: nonEmpty,
  service: nonEmpty.max(255),
  workspace: nonEmpty,
  maxLoops: z.number().int().min(1).max(1000).default(8),
  roles: rolesSchema.default({}),
  socket: nonEmpty.nullable().default(null),
  audit: nonEmpty.nullable().default(null),
  journal: nonEmpty.nullable().default(null),
  terminator: nonEmpty.max(255).nullable().default(null),
  executor: executorSchema,
});

function configError(file: string, message: string, hint?: string): RalphError {
  return new RalphError('INVALID_DAEMON_CONFIG', `daemon config ${file}: ${message}`, {
    exitCode: ExitCode.usage,
    hint,
  });
}

/**
 * Removes `//` and `/* *\/` comments, keeping strings intact (a `//` inside a string stays) and line
 * numbers unchanged (a block comment's newlines are kept). Trailing commas before `}` or `]` go too.
 */
export function stripJsonComments(text: string): string {
  let out = '';
  let i = 0;
  const n = text.length;
  while (i < n) {
    const c = text[i]!;
    if (c === '"') {
      const start = i;
      i += 1;
      while (i < n && text[i] !== '"') i += text[i] === '\\' ? 2 : 1;
      i += 1;
      out += text.slice(start, i);
    } else if (c === '/' && text[i + 1] === '/') {
      while (i < n && text[i] !== '\n') i += 1;
    } else if (c === '/' && text[i + 1] === '*') {
      const end = text.indexOf('*/', i + 2);
      const stop = end === -1 ? n : end + 2;
      out += text.slice(i, stop).replace(/[^\n]/g, ' ');
      i = stop;
    } else {
      out += c;
      i += 1;
    }
  }
  return removeTrailingCommas(out);
}

function removeTrailingCommas(text: string): string {
  let out = '';
  let i = 0;
  while (i < text.length) {
    const c = text[i]!;
    if (c === '"') {
      const start = i;
      i += 1;
      while (i < text.length && text[i] !== '"') i += text[i] === '\\' ? 2 : 1;
      i += 1;
      out += text.slice(start, i);
      continue;
    }
    if (c === ',') {
      let j = i + 1;
      while (j < text.length && /\s/.test(text[j]!)) j += 1;
      if (text[j] === '}' || text[j] === ']') {
        i += 1;
        continue;
      }
    }
    out += c;
    i += 1;
  }
  return out;
}

/** Reads, parses and checks the daemon configuration at `file`. */
export function loadDaemonConfig(file: string, paths: RalphPaths = ralphPaths()): DaemonConfig {
  const path = resolve(file);
  let text: string;
  try {
    if (statSync(path).size > MAX_CONFIG_BYTES) throw new Error(`over ${MAX_CONFIG_BYTES} bytes`);
    text = readFileSync(path, 'utf8');
  } catch (err) {
    throw configError(path, `cannot read it: ${errorMessage(err)}`, 'write one with: ralph daemon init');
  }
  return parseDaemonConfig(text, path, paths);
}

/** Parses and checks configuration text; `file` names it in errors and anchors relative paths. */
export function parseDaemonConfig(
  text: string,
  file: string,
  paths: RalphPaths = ralphPaths(),
): DaemonConfig {
  let raw: unknown;
  try {
    raw = JSON.parse(stripJsonComments(text));
  } catch (err) {
    throw configError(file, `not valid JSON (comments allowed): ${errorMessage(err)}`);
  }
  if (typeof raw !== 'object' || raw === null || Array.isArray(raw)) {
    throw configError(file, 'expected an object at the top level');
  }
  const parsed = schema.safeParse(raw);
  if (!parsed.success) {
    const first = summarizeIssues(parsed.error.issues)[0];
    const field = first === undefined ? '?' : first.path.replace(/^params\.?/, '') || '(top level)';
    throw configError(file, `${field}: ${first?.message ?? 'invalid'}`);
  }
  const c = parsed.data;
  const base = resolve(file, '..');
  const abs = (p: string): string => (isAbsolute(p) ? p : resolve(base, p));
  let workspace: string;
  try {
    workspace = realpathSync(abs(c.workspace));
    if (!statSync(workspace).isDirectory()) throw new Error('not a folder');
  } catch (err) {
    throw configError(
      file,
      `workspace: ${abs(c.workspace)}: ${errorMessage(err)}`,
      'create the folder first',
    );
  }
  const daemonData = join(paths.dataDir, 'daemon');
  return {
    file,
    identity: abs(c.identity),
    service: c.service,
    workspace,
    maxLoops: c.maxLoops,
    roles: c.roles,
    socket: c.socket === null ? defaultDaemonSocket(paths) : abs(c.socket),
    audit: c.audit === null ? join(daemonData, 'audit.ndjson') : abs(c.audit),
    journal: c.journal === null ? join(daemonData, 'journal.ndjson') : abs(c.journal),
    terminator: c.terminator,
    executor:
      c.executor.kind === 'process'
        ? { kind: 'process' }
        : {
            ...c.executor,
            kubeconfig: c.executor.kubeconfig === null ? null : abs(c.executor.kubeconfig),
            store: c.executor.store === null ? join(daemonData, 'kubernetes.sqlite') : abs(c.executor.store),
          },
  };
}

/** Where the daemon's local socket is unless the configuration says otherwise. */
export function defaultDaemonSocket(paths: RalphPaths = ralphPaths()): string {
  return join(paths.runDir, 'daemon.sock');
}

export interface TemplateOptions {
  identity?: string | undefined;
  service?: string | undefined;
  workspace?: string | undefined;
}

/** A commented configuration, for `ralph daemon init`. */
export function daemonConfigTemplate(options: TemplateOptions = {}): string {
  const q = (s: string): string => JSON.stringify(s);
  return [
    '// ralph daemon configuration (JSON with comments). Run: ralph daemon --config <this file>',
    '{',
    '  // The enrolled Ziti identity file of this daemon (ziti edge enroll ... --out <file>).',
    `  "identity": ${q(options.identity ?? '/etc/ralph/daemon.json')},`,
    '  // The one Ziti service the daemon binds; clients dial it. No TCP or UDP port is opened.',
    `  "service": ${q(options.service ?? 'ralph-vps1')},`,
    '  // Task folders given to start_loop must resolve inside this folder (no .., no symlink out of it).',
    `  "workspace": ${q(options.workspace ?? '/home/ralph/work')},`,
    '  // How many loops may run at once.',
    '  "maxLoops": 8,',
    '  // Who may do what: a Ziti identity (its id, the certificate CN, or its name) -> "observe" or "control".',
    '  // observe: status, read-only attach, logs, peek. control: everything, including keys, stop and start.',
    '  // Identities not listed here are refused.',
    '  "roles": {',
    '    // "laptop": "control"',
    '  },',
    '  // The local Unix socket for clients on this box; null: <runtime dir>/ralph/daemon.sock.',
    '  "socket": null,',
    '  // The audit log (one line per request); null: <data dir>/ralph/daemon/audit.ndjson.',
    '  "audit": null,',
    '  // The event journal; null: <data dir>/ralph/daemon/journal.ndjson.',
    '  "journal": null,',
    '  // Where loops run: detached runner processes on this box, or one Job per loop on a Kubernetes cluster',
    '  // (docs/kubernetes.md), for example:',
    '  //   { "kind": "kubernetes", "namespace": "loops", "image": "ralph-runner:0.1.0", "secret": "agent-keys" }',
    '  "executor": { "kind": "process" }',
    '}',
    '',
  ].join('\n');
}
