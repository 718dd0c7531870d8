import { describe, expect, it } from 'vitest';
import {
  DEADLINE_GRACE_SECONDS,
  LABELS,
  daemonSelector,
  isLabelValue,
  loopObjectName,
  loopObjects,
  type KubernetesExecutorConfig,
} from '../../src/daemon/kubernetes/spec.js';

const config: KubernetesExecutorConfig = {
  kind: 'kubernetes',
  namespace: 'loops',
  image: 'ralph-runner:test',
  imagePullPolicy: 'Never',
  kubeconfig: null,
  resources: { requests: { cpu: '250m', memory: '256Mi' }, limits: { memory: '1Gi' } },
  storageClass: 'fast',
  storageSize: '2Gi',
  secret: 'agent-keys',
  ttlSecondsAfterFinished: 600,
  nodeSelector: { pool: 'loops' },
  runAsUser: 65532,
  tolerations: [],
  hostNetwork: false,
  deadlineGraceSeconds: DEADLINE_GRACE_SECONDS,
  nodePath: '/usr/local/bin/node',
  maxTaskBytes: 64 * 1024 * 1024,
  awaitFilesMs: null,
};

describe('the Kubernetes objects of a loop', () => {
  it('are one never-retried, non-root Job with its launch file and data claim', () => {
    const { job, configMap, claim } = loopObjects(config, {
      daemon: 'box1',
      loopId: 42,
      task: 'auth-flow',
      launch: '{"sessionId":42}',
      maxDurationMs: 3_600_000,
    });
    expect(job.metadata?.name).toBe('ralph-box1-42');
    expect(configMap.metadata?.name).toBe('ralph-box1-42');
    expect(claim.metadata?.name).toBe('ralph-box1-42');
    expect(job.metadata?.labels).toEqual({
      [LABELS.managedBy]: 'ralph',
      [LABELS.daemon]: 'box1',
      [LABELS.loop]: '42',
      [LABELS.task]: 'auth-flow',
    });
    expect(job.spec).toMatchObject({
      backoffLimit: 0,
      ttlSecondsAfterFinished: 600,
      activeDeadlineSeconds: 3600 + DEADLINE_GRACE_SECONDS,
    });
    const pod = job.spec!.template.spec!;
    expect(pod.restartPolicy).toBe('Never');
    expect(pod.automountServiceAccountToken).toBe(false);
    expect(pod.securityContext).toMatchObject({ runAsNonRoot: true, runAsUser: 65532 });
    expect(pod.nodeSelector).toEqual({ pool: 'loops' });
    const [runner] = pod.containers;
    expect(runner!.securityContext).toMatchObject({
      allowPrivilegeEscalation: false,
      readOnlyRootFilesystem: true,
      capabilities: { drop: ['ALL'] },
    });
    expect(runner!.resources).toEqual({
      requests: { cpu: '250m', memory: '256Mi' },
      limits: { memory: '1Gi' },
    });
    expect(runner!.envFrom).toEqual([{ secretRef: { name: 'agent-keys' } }]);
    expect(runner!.terminationMessagePath).toBe('/dev/termination-log');
    expect(pod.volumes?.find((v) => v.name === 'data')?.persistentVolumeClaim?.claimName).toBe(
      'ralph-box1-42',
    );
    expect(configMap.data).toEqual({ 'launch.json': '{"sessionId":42}' });
    expect(claim.spec).toMatchObject({
      storageClassName: 'fast',
      resources: { requests: { storage: '2Gi' } },
    });
  });

  it('have no deadline without a duration budget, and no secret or class unless named', () => {
    const { job, claim } = loopObjects(
      { ...config, secret: null, storageClass: null, nodeSelector: {} },
      { daemon: 'box1', loopId: 1, task: 't', launch: '{}' },
    );
    expect(job.spec?.activeDeadlineSeconds).toBeUndefined();
    expect(job.spec?.template.spec?.tolerations).toBeUndefined();
    expect(job.spec?.template.spec?.hostNetwork).toBeUndefined();
    expect(job.spec?.template.spec?.containers[0]?.envFrom).toBeUndefined();
    expect(job.spec?.template.spec?.nodeSelector).toBeUndefined();
    expect(claim.spec?.storageClassName).toBeUndefined();
  });

  it('tolerate the taints named and run on the node network only when asked', () => {
    const toleration = { key: 'pool', operator: 'Equal', value: 'loops', effect: 'NoSchedule' };
    const { job } = loopObjects(
      { ...config, tolerations: [toleration], hostNetwork: true },
      { daemon: 'box1', loopId: 2, task: 't', launch: '{}' },
    );
    expect(job.spec?.template.spec?.tolerations).toEqual([toleration]);
    expect(job.spec?.template.spec?.hostNetwork).toBe(true);
  });

  it('name objects from the daemon and loop id only, keeping any task name in an annotation', () => {
    const task = `${'a'.repeat(62)}.-`;
    const { job } = loopObjects(config, { daemon: 'Box_One!', loopId: 7, task, launch: '{}' });
    expect(job.metadata?.name).toBe('ralph-box-one-7');
    expect(job.metadata?.annotations).toEqual({ 'ralph.dev/task': task });
    expect(job.metadata?.labels?.[LABELS.task]).toBeUndefined();
    expect(job.metadata?.labels?.[LABELS.daemon]).toBe('box-one');
    expect(daemonSelector('Box_One!')).toBe('app.kubernetes.io/managed-by=ralph,ralph.dev/daemon=box-one');
    const long = loopObjectName('d'.repeat(200), 123456789);
    expect(long.length).toBeLessThanOrEqual(63);
    expect(long).toMatch(/^[a-z0-9]([-a-z0-9]*[a-z0-9])?$/);
  });

  it('refuse a loop id that is not a positive integer', () => {
    for (const loopId of [0, -1, 1.5, Number.NaN]) {
      expect(() => loopObjects(config, { daemon: 'd', loopId, task: 't', launch: '{}' })).toThrow(/loop id/);
    }
  });

  it('tell label values from what is not one', () => {
    expect(isLabelValue('a')).toBe(true);
    expect(isLabelValue('a.b_c-d')).toBe(true);
    expect(isLabelValue('a'.repeat(63))).toBe(true);
    expect(isLabelValue('a'.repeat(64))).toBe(false);
    expect(isLabelValue('-a')).toBe(false);
    expect(isLabelValue('a-')).toBe(false);
    expect(isLabelValue('a b')).toBe(false);
  });
});
