// Counterexample steps: which actor ran which command, on which CPU, and what it did in
// kernel terms. Descriptions are derived from the states before and after the step.

import { LockKind, SimConfig, masksHardIrqs } from './model';
import {
  AFLAG,
  DCACHE,
  DPEND,
  EVTRIG,
  INF0,
  IPC0,
  LAST,
  Layout,
  LOCK,
  L_WORK,
  MASKED,
  RUN,
  SCHED,
  SHADOW,
  StateView,
  UEVENT,
  USED,
  WQP,
  WPC,
  viewState,
} from './state';
import {
  CommandId,
  K_D1,
  K_D2N,
  K_D2S,
  K_D2X,
  K_D3,
  K_D4,
  K_F,
  K_I0,
  K_I1,
  K_I1E,
  K_I2,
  K_I2A,
  K_I2B,
  K_I2N,
  K_P0,
  K_W0,
  KIND_IDS,
  codeCpu,
  codeKind,
  codeVariant,
} from './transitions';

export type Actor = 'device' | 'fabric' | 'irq' | 'work' | 'napi';

export interface TraceStep {
  /** 1-based position in the trace. */
  step: number;
  actor: Actor;
  /** Command id of §4 and §12 (D1, D2n, D2s, D2x, D3, D4, F, I0, I1, I1e, I2, I2a, I2b, I2n, W0..W9, P0..P4). */
  cmd: CommandId;
  /** CPU the step runs on (irq, work), or the MSI's destination (D3, F, replay); absent otherwise. */
  cpu?: number;
  description: string;
  stateAfter?: StateView;
}

function unlockName(lock: LockKind): string {
  switch (lock) {
    case 'spin_lock':
      return 'spin_unlock';
    case 'spin_lock_bh':
      return 'spin_unlock_bh';
    case 'spin_lock_irqsave':
      return 'spin_unlock_irqrestore';
    case 'spin_lock_irq':
      return 'spin_unlock_irq';
    case 'mutex':
      return 'mutex_unlock';
    case 'none':
      return '';
  }
}

function lockCall(lock: LockKind): string {
  return lock === 'mutex' ? 'mutex_lock(&fsvq->lock)' : `${lock}(&fsvq->lock)`;
}

/** The lock step's text, or what stands for it when the work takes no lock. */
function lockText(cfg: SimConfig): string {
  if (cfg.lock === 'none') return 'enter the drain (no lock)';
  return `${lockCall(cfg.lock)}${masksHardIrqs(cfg.lock) ? ': local IRQs off' : ''}`;
}

function unlockText(cfg: SimConfig, what: string): string {
  if (cfg.lock === 'none') return `leave the drain${what}`;
  return `${unlockName(cfg.lock)}(&fsvq->lock)${what}${masksHardIrqs(cfg.lock) ? ': local IRQs back on' : ''}`;
}

function suppressionText(cfg: SimConfig, s: Int32Array, noev: number): string {
  const cached = cfg.stale === 'cached';
  if (cfg.eventIdx) {
    const v = cached ? s[DCACHE] : s[UEVENT];
    const vs = v === noev ? 'NOEV' : String(v);
    return `${cached ? 'cached ' : ''}used_event=${vs}, new used->idx=${s[USED]}`;
  }
  const v = cached ? s[DCACHE] : s[AFLAG];
  return `${cached ? 'cached ' : ''}avail->flags NO_INTERRUPT=${v}`;
}

/** Builds one step from the command code and the states around it. */
export function makeStep(layout: Layout, index: number, code: number, pre: Int32Array, post: Int32Array, withState: boolean): TraceStep {
  const cfg = layout.cfg;
  const kind = codeKind(code);
  const cpu = codeCpu(code);
  const variant = codeVariant(code);
  const cmd = KIND_IDS[kind];
  let actor: Actor;
  let desc: string;
  let stepCpu: number | undefined = cpu;
  const replay = variant > 0 ? `; IRQS_PENDING: unmask, the PBA bit replays the MSI to CPU ${variant - 1}, handler re-runs` : '';
  const rerun = variant === 0 && pre[DPEND] === 1 && cfg.target === 'any' ? '; IRQS_PENDING: handler re-runs' : '';
  switch (kind) {
    case K_D1:
      actor = 'device';
      stepCpu = undefined;
      desc = `publish used buffer ${post[USED]} (used->idx=${post[USED]})`;
      break;
    case K_D2N:
      actor = 'device';
      stepCpu = undefined;
      desc = `decide: notify (${suppressionText(cfg, pre, layout.noev)})`;
      break;
    case K_D2S:
      actor = 'device';
      stepCpu = undefined;
      desc = `decide: suppressed, no MSI (${suppressionText(cfg, pre, layout.noev)})`;
      break;
    case K_D2X:
      actor = 'device';
      stepCpu = undefined;
      desc = `decide: suppressed, but the lax device notifies anyway (${suppressionText(cfg, pre, layout.noev)})`;
      break;
    case K_D3:
      actor = 'device';
      desc =
        pre[MASKED] === 1 && cfg.target === 'any'
          ? `send MSI to CPU ${cpu}: vector masked, PBA bit set`
          : cfg.lat
            ? `send MSI to CPU ${cpu} (in flight)`
            : `send MSI to CPU ${cpu} (latched: pending[${cpu}]=1)`;
      break;
    case K_D4:
      actor = 'device';
      stepCpu = undefined;
      desc = `refresh the cached suppression state (${cfg.eventIdx ? 'used_event' : 'avail->flags'})`;
      break;
    case K_F:
      actor = 'fabric';
      desc = `in-flight MSI latches on CPU ${cpu} (pending[${cpu}]=1, ${post[INF0 + cpu]} still in flight)`;
      break;
    case K_I0:
      actor = 'irq';
      desc =
        post[IPC0 + cpu] === 1 && pre[IPC0 + cpu] === 0
          ? 'hard IRQ: handle_edge_irq() acks (EOI), calls vring_interrupt()'
          : 'hard IRQ: handler in progress on the other CPU: IRQS_PENDING, vector masked';
      break;
    case K_I1:
      actor = 'irq';
      desc =
        post[IPC0 + cpu] !== 0 && post[IPC0 + cpu] !== 1
          ? `vring_interrupt(): more_used() (last_used=${pre[LAST]} != used->idx=${pre[USED]})`
          : `vring_interrupt(): ring empty (last_used == used->idx == ${pre[USED]}) -> IRQ_NONE${inDrain(cfg, pre)}${replay}${rerun}`;
      break;
    case K_I1E:
      actor = 'irq';
      desc = 'vring_interrupt(): event_triggered = true';
      break;
    case K_I2N:
      actor = 'irq';
      desc =
        pre[SCHED] === 1
          ? `callback: virtqueue_napi_schedule(): NAPI already scheduled (no-op) -> IRQ_HANDLED${replay}${rerun}`
          : `callback: virtqueue_napi_schedule(): virtqueue_disable_cb(), napi scheduled on CPU ${pre[RUN] === 1 ? 'of the running poll' : cpu} -> IRQ_HANDLED${replay}${rerun}`;
      break;
    case K_I2:
      actor = 'irq';
      desc = `callback: schedule_work(&fsvq->done_work)${pre[WQP] === 1 ? ' (already pending: no-op)' : ''} -> IRQ_HANDLED${replay}${rerun}`;
      break;
    case K_I2A:
      actor = 'irq';
      desc = `callback: spin_lock(&fsvq->lock)${cfg.lock === 'mutex' ? ' (a mutex: illegal in hard IRQ)' : ''}`;
      break;
    case K_I2B:
      actor = 'irq';
      desc = `callback: schedule_work(&fsvq->done_work), spin_unlock(&fsvq->lock) -> IRQ_HANDLED${replay}${rerun}`;
      break;
    default: {
      if (kind >= K_P0) {
        actor = 'napi';
        desc = pollText(kind - K_P0, pre, post);
      } else {
        actor = 'work';
        desc = workText(cfg, kind - K_W0, pre, post, layout.noev);
      }
    }
  }
  const step: TraceStep = { step: index, actor, cmd, description: desc };
  if (stepCpu !== undefined) step.cpu = stepCpu;
  if (withState) step.stateAfter = viewState(layout, post);
  return step;
}

/** " while the work holds the lock" / " while the poll runs", where the I1 step's B2 applies. */
function inDrain(cfg: SimConfig, pre: Int32Array): string {
  if (cfg.napi) return pre[RUN] === 1 ? ' while the NAPI poll runs' : '';
  if (pre[LOCK] !== L_WORK) return '';
  return cfg.lock === 'none' ? ' while the work drains' : ' while the work holds the lock';
}

function pollText(p: number, pre: Int32Array, post: Int32Array): string {
  switch (p) {
    case 0:
      return 'softirq: net_rx_action() runs the NAPI poll';
    case 1:
      return post[LAST] !== pre[LAST] ? `virtqueue_get_buf() -> buffer ${post[LAST]}` : 'virtqueue_get_buf() -> NULL';
    case 2:
      return 'virtqueue_napi_complete(): virtqueue_enable_cb_prepare(): callbacks re-enabled';
    case 3:
      return 'napi_complete_done(): NAPI_STATE_SCHED cleared';
    default:
      return post[SCHED] === 1 && pre[SCHED] === 0
        ? `virtqueue_poll(): used->idx=${pre[USED]} != ${pre[LAST]}: virtqueue_disable_cb(), NAPI scheduled again`
        : `virtqueue_poll(): ${pre[USED] === pre[LAST] ? 'ring empty' : 'NAPI already scheduled'}; the poll returns`;
  }
}

function workText(cfg: SimConfig, w: number, pre: Int32Array, post: Int32Array, noev: number): string {
  switch (w) {
    case 0:
      return 'worker runs virtio_fs_requests_done_work() (WORK_STRUCT_PENDING cleared first)';
    case 1:
      return lockText(cfg);
    case 2: {
      if (pre[SHADOW] === 1) return 'virtqueue_disable_cb(): already disabled (shadow flag set)';
      if (pre[EVTRIG] === 1) return 'virtqueue_disable_cb(): shadow flag set; event_triggered, so used_event is left alone';
      return cfg.eventIdx
        ? 'virtqueue_disable_cb(): used_event=0 ("hack", never notifies)'
        : 'virtqueue_disable_cb(): avail->flags=NO_INTERRUPT';
    }
    case 3:
      return post[LAST] !== pre[LAST]
        ? `virtqueue_get_buf() -> buffer ${post[LAST]}${post[UEVENT] !== pre[UEVENT] ? ` (used_event=${post[UEVENT]})` : ''}`
        : 'virtqueue_get_buf() -> NULL';
    case 4: {
      const ue = post[UEVENT] === noev ? 'NOEV' : String(post[UEVENT]);
      return `virtqueue_enable_cb() prepare: callbacks re-enabled (${cfg.eventIdx ? `used_event=${ue}` : 'avail->flags=0'})`;
    }
    case 5:
      return post[WPC] === 2
        ? `virtqueue_poll(): used->idx=${pre[USED]} != ${pre[LAST]}: loop again`
        : `virtqueue_poll(): ring empty (used->idx=${pre[USED]}): leave the loop`;
    case 6:
      return unlockText(cfg, '');
    case 8:
      return unlockText(cfg, ' after the buffer');
    case 9:
      return cfg.lock === 'none'
        ? 're-enter the drain'
        : `${lockCall(cfg.lock)} again before the next get_buf${masksHardIrqs(cfg.lock) ? ': local IRQs off' : ''}`;
    default:
      return 'complete requests outside the lock; the work function returns';
  }
}
