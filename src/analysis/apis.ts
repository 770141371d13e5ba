// Kernel API knowledge as data, kept apart from the rules that use it (as smatch keeps its
// lock_table[]). Semantics from include/linux/spinlock.h, spinlock_api_smp.h, rwlock.h,
// cleanup.h (guard classes), workqueue.h and virtio.h.
import { compareCodeUnits } from './text';

/** What holding a lock does to hard IRQs on the holder's CPU. */
export type IrqEffect =
  | 'irqs-on' // spin_lock, spin_lock_bh, raw_spin_lock, read_lock, ...: hard IRQs stay enabled
  | 'irqs-off'; // spin_lock_irqsave, spin_lock_irq, local_irq_save, ...

export type LockFamily = 'spinlock' | 'raw_spinlock' | 'rwlock' | 'irq' | 'mutex';

export interface LockApi {
  name: string;
  action: 'lock' | 'unlock';
  family: LockFamily;
  irq: IrqEffect;
  /** The variant suffix: '' | '_bh' | '_irq' | '_irqsave' (unlock: '_irqrestore'). */
  variant: '' | '_bh' | '_irq' | '_irqsave' | '_irqrestore' | '_nested';
  /** Argument index of the lock expression; -1 for local_irq_*(). */
  lockArg: number;
  /** Argument index of the flags variable for *_irqsave / *_irqrestore. */
  flagsArg?: number;
}

function spinFamily(prefix: string, family: LockFamily): LockApi[] {
  const rows: LockApi[] = [];
  const add = (name: string, action: 'lock' | 'unlock', irq: IrqEffect, variant: LockApi['variant'], flagsArg?: number) =>
    rows.push({ name: prefix + name, action, family, irq, variant, lockArg: 0, flagsArg });
  add('lock', 'lock', 'irqs-on', '');
  add('lock_nested', 'lock', 'irqs-on', '_nested');
  add('lock_bh', 'lock', 'irqs-on', '_bh');
  add('lock_irq', 'lock', 'irqs-off', '_irq');
  add('lock_irqsave', 'lock', 'irqs-off', '_irqsave', 1);
  add('lock_irqsave_nested', 'lock', 'irqs-off', '_irqsave', 1);
  add('unlock', 'unlock', 'irqs-on', '');
  add('unlock_bh', 'unlock', 'irqs-on', '_bh');
  add('unlock_irq', 'unlock', 'irqs-off', '_irq');
  add('unlock_irqrestore', 'unlock', 'irqs-off', '_irqrestore', 1);
  return rows;
}

const lockRows: LockApi[] = [
  ...spinFamily('spin_', 'spinlock'),
  ...spinFamily('raw_spin_', 'raw_spinlock'),
  ...spinFamily('read_', 'rwlock'),
  ...spinFamily('write_', 'rwlock'),
  { name: 'local_irq_save', action: 'lock', family: 'irq', irq: 'irqs-off', variant: '_irqsave', lockArg: -1, flagsArg: 0 },
  { name: 'local_irq_disable', action: 'lock', family: 'irq', irq: 'irqs-off', variant: '_irq', lockArg: -1 },
  { name: 'local_irq_restore', action: 'unlock', family: 'irq', irq: 'irqs-off', variant: '_irqrestore', lockArg: -1, flagsArg: 0 },
  { name: 'local_irq_enable', action: 'unlock', family: 'irq', irq: 'irqs-off', variant: '_irq', lockArg: -1 },
  { name: 'mutex_lock', action: 'lock', family: 'mutex', irq: 'irqs-on', variant: '', lockArg: 0 },
  { name: 'mutex_lock_interruptible', action: 'lock', family: 'mutex', irq: 'irqs-on', variant: '', lockArg: 0 },
  { name: 'mutex_lock_nested', action: 'lock', family: 'mutex', irq: 'irqs-on', variant: '_nested', lockArg: 0 },
  { name: 'mutex_unlock', action: 'unlock', family: 'mutex', irq: 'irqs-on', variant: '', lockArg: 0 },
];

export const LOCK_APIS: ReadonlyMap<string, LockApi> = new Map(lockRows.map(r => [r.name, r]));

/**
 * Conditional acquisitions (include/linux/spinlock.h): `spin_trylock(&l)` returns non-zero when it
 * took the lock. Described as the lock they take on success; `flagsArg` for the _irqsave forms.
 */
export const TRYLOCK_APIS: ReadonlyMap<string, LockApi> = new Map(
  ['spin_', 'raw_spin_', 'read_', 'write_'].flatMap(p => {
    const fam: LockFamily = p === 'spin_' ? 'spinlock' : p === 'raw_spin_' ? 'raw_spinlock' : 'rwlock';
    const row = (suffix: string, irq: IrqEffect, variant: LockApi['variant'], flagsArg?: number): [string, LockApi] => [
      `${p}trylock${suffix}`,
      { name: `${p}trylock${suffix}`, action: 'lock', family: fam, irq, variant, lockArg: 0, flagsArg },
    ];
    return [
      row('', 'irqs-on', ''),
      row('_bh', 'irqs-on', '_bh'),
      row('_irq', 'irqs-off', '_irq'),
      row('_irqsave', 'irqs-off', '_irqsave', 1),
    ];
  }),
);

/** Guard classes of include/linux/spinlock.h and mutex.h usable with guard() / scoped_guard(). */
export interface GuardClass {
  name: string;
  family: LockFamily;
  irq: IrqEffect;
  variant: LockApi['variant'];
}

const guardRows: GuardClass[] = [
  { name: 'spinlock', family: 'spinlock', irq: 'irqs-on', variant: '' },
  { name: 'spinlock_bh', family: 'spinlock', irq: 'irqs-on', variant: '_bh' },
  { name: 'spinlock_irq', family: 'spinlock', irq: 'irqs-off', variant: '_irq' },
  { name: 'spinlock_irqsave', family: 'spinlock', irq: 'irqs-off', variant: '_irqsave' },
  { name: 'raw_spinlock', family: 'raw_spinlock', irq: 'irqs-on', variant: '' },
  { name: 'raw_spinlock_bh', family: 'raw_spinlock', irq: 'irqs-on', variant: '_bh' },
  { name: 'raw_spinlock_irq', family: 'raw_spinlock', irq: 'irqs-off', variant: '_irq' },
  { name: 'raw_spinlock_irqsave', family: 'raw_spinlock', irq: 'irqs-off', variant: '_irqsave' },
  { name: 'read_lock', family: 'rwlock', irq: 'irqs-on', variant: '' },
  { name: 'read_lock_bh', family: 'rwlock', irq: 'irqs-on', variant: '_bh' },
  { name: 'read_lock_irq', family: 'rwlock', irq: 'irqs-off', variant: '_irq' },
  { name: 'read_lock_irqsave', family: 'rwlock', irq: 'irqs-off', variant: '_irqsave' },
  { name: 'write_lock', family: 'rwlock', irq: 'irqs-on', variant: '' },
  { name: 'write_lock_bh', family: 'rwlock', irq: 'irqs-on', variant: '_bh' },
  { name: 'write_lock_irq', family: 'rwlock', irq: 'irqs-off', variant: '_irq' },
  { name: 'write_lock_irqsave', family: 'rwlock', irq: 'irqs-off', variant: '_irqsave' },
  { name: 'irq', family: 'irq', irq: 'irqs-off', variant: '_irq' },
  { name: 'irqsave', family: 'irq', irq: 'irqs-off', variant: '_irqsave' },
  { name: 'mutex', family: 'mutex', irq: 'irqs-on', variant: '' },
];

export const GUARD_CLASSES: ReadonlyMap<string, GuardClass> = new Map(guardRows.map(r => [r.name, r]));

/** Lock kinds VRL001 reports: spinning locks that leave hard IRQs enabled. */
export function isIrqUnsafeSpin(family: LockFamily, irq: IrqEffect): boolean {
  return irq === 'irqs-on' && (family === 'spinlock' || family === 'raw_spinlock' || family === 'rwlock');
}

/**
 * Work queueing APIs (include/linux/workqueue.h): the argument index of the work item, and of
 * the workqueue, the CPU (NUMA node for queue_work_node) and the delay where the API takes one.
 */
export interface ScheduleApi {
  workArg: number;
  delayed: boolean;
  wqArg?: number;
  cpuArg?: number;
  delayArg?: number;
}
export const SCHEDULE_APIS: ReadonlyMap<string, ScheduleApi> = new Map<string, ScheduleApi>([
  ['schedule_work', { workArg: 0, delayed: false }],
  ['schedule_work_on', { workArg: 1, delayed: false, cpuArg: 0 }],
  ['queue_work', { workArg: 1, delayed: false, wqArg: 0 }],
  ['queue_work_on', { workArg: 2, delayed: false, cpuArg: 0, wqArg: 1 }],
  ['queue_work_node', { workArg: 2, delayed: false, cpuArg: 0, wqArg: 1 }],
  ['schedule_delayed_work', { workArg: 0, delayed: true, delayArg: 1 }],
  ['schedule_delayed_work_on', { workArg: 1, delayed: true, cpuArg: 0, delayArg: 2 }],
  ['queue_delayed_work', { workArg: 1, delayed: true, wqArg: 0, delayArg: 2 }],
  ['queue_delayed_work_on', { workArg: 2, delayed: true, cpuArg: 0, wqArg: 1, delayArg: 3 }],
  ['mod_delayed_work', { workArg: 1, delayed: true, wqArg: 0, delayArg: 2 }],
  ['mod_delayed_work_on', { workArg: 2, delayed: true, cpuArg: 0, wqArg: 1, delayArg: 3 }],
]);

/** Workqueue allocators (include/linux/workqueue.h) and the index of their flags argument. */
export const WQ_ALLOC_APIS: ReadonlyMap<string, { flagsArg?: number }> = new Map([
  ['alloc_workqueue', { flagsArg: 1 }],
  ['alloc_ordered_workqueue', { flagsArg: 1 }],
  ['alloc_workqueue_lockdep_map', { flagsArg: 1 }],
  ['alloc_ordered_workqueue_lockdep_map', { flagsArg: 1 }],
  ['create_workqueue', {}],
  ['create_freezable_workqueue', {}],
  ['create_singlethread_workqueue', {}],
]);

/** virtqueue_add_sgs(), virtqueue_add_inbuf(), virtqueue_add_outbuf(), their _ctx / _premapped forms. */
export const SUBMIT_API = /^virtqueue_add(?:_\w+)?$/;

/** Work binding APIs: argument of the work item and of the handler. */
export const BINDING_APIS: ReadonlyMap<string, { workArg: number; fnArg: number; delayed: boolean; declares: boolean }> = new Map([
  ['INIT_WORK', { workArg: 0, fnArg: 1, delayed: false, declares: false }],
  ['INIT_WORK_ONSTACK', { workArg: 0, fnArg: 1, delayed: false, declares: false }],
  ['__INIT_WORK', { workArg: 0, fnArg: 1, delayed: false, declares: false }],
  ['INIT_DELAYED_WORK', { workArg: 0, fnArg: 1, delayed: true, declares: false }],
  ['INIT_DEFERRABLE_WORK', { workArg: 0, fnArg: 1, delayed: true, declares: false }],
  ['__INIT_DELAYED_WORK', { workArg: 0, fnArg: 1, delayed: true, declares: false }],
  ['DECLARE_WORK', { workArg: 0, fnArg: 1, delayed: false, declares: true }],
  ['DECLARE_DELAYED_WORK', { workArg: 0, fnArg: 1, delayed: true, declares: true }],
  ['DECLARE_DEFERRABLE_WORK', { workArg: 0, fnArg: 1, delayed: true, declares: true }],
]);

/** Calls that consume used buffers from a virtqueue (drivers/virtio/virtio_ring.c). */
export const DRAIN_APIS: ReadonlySet<string> = new Set(['virtqueue_get_buf', 'virtqueue_get_buf_ctx']);

/**
 * Virtqueue setup calls and the argument holding the callback(s). `array` means the argument is
 * an array of vq_callback_t (≤ 6.10) or of struct virtqueue_info (6.11+).
 */
export const VQ_SETUP_APIS: ReadonlyMap<string, { arg: number; array: boolean }> = new Map([
  ['virtio_find_single_vq', { arg: 1, array: false }],
  ['virtio_find_vqs', { arg: 3, array: true }],
  ['virtio_find_vqs_ctx', { arg: 3, array: true }],
  ['find_vqs', { arg: 3, array: true }],
  ['vring_create_virtqueue', { arg: 8, array: false }],
  ['vring_create_virtqueue_dma', { arg: 8, array: false }],
  ['vring_new_virtqueue', { arg: 8, array: false }],
]);

/** Helpers that sleep: holding a spinlock across them is already a bug, and irqsave makes it worse. */
export const SLEEPING_APIS: ReadonlySet<string> = new Set([
  'msleep',
  'ssleep',
  'usleep_range',
  'schedule',
  'schedule_timeout',
  'wait_event',
  'wait_event_interruptible',
  'wait_for_completion',
  'wait_for_completion_timeout',
  'wait_for_completion_interruptible',
  'mutex_lock',
  'mutex_lock_interruptible',
  'down',
  'down_interruptible',
  'flush_work',
  'cancel_work_sync',
  'cancel_delayed_work_sync',
  'flush_workqueue',
  'synchronize_rcu',
  'might_sleep',
  'cond_resched',
  'vmalloc',
  'vfree',
  'copy_to_user',
  'copy_from_user',
]);

/**
 * Deferral other than a work item (VRL002): how a vring callback hands the drain to another
 * context, and where that context's function is registered. Each entry: the argument holding the
 * object (napi_struct, tasklet_struct) and, for a registration, the function's argument.
 * include/linux/netdevice.h (napi_schedule*, netif_napi_add*), virtio_net's own
 * virtqueue_napi_schedule(napi, vq), include/linux/interrupt.h (tasklet_*).
 */
export const NAPI_SCHEDULE_APIS: ReadonlyMap<string, { objArg: number }> = new Map([
  ['napi_schedule', { objArg: 0 }],
  ['napi_schedule_irqoff', { objArg: 0 }],
  ['__napi_schedule', { objArg: 0 }],
  ['__napi_schedule_irqoff', { objArg: 0 }],
  ['virtqueue_napi_schedule', { objArg: 0 }],
]);
export const NAPI_ADD_APIS: ReadonlyMap<string, { objArg: number; fnArg: number }> = new Map([
  ['netif_napi_add', { objArg: 1, fnArg: 2 }],
  ['netif_napi_add_weight', { objArg: 1, fnArg: 2 }],
  ['netif_napi_add_tx', { objArg: 1, fnArg: 2 }],
  ['netif_napi_add_tx_weight', { objArg: 1, fnArg: 2 }],
  ['netif_napi_add_config', { objArg: 1, fnArg: 2 }],
  ['netif_napi_add_locked', { objArg: 1, fnArg: 2 }],
]);
export const TASKLET_SCHEDULE_APIS: ReadonlyMap<string, { objArg: number }> = new Map([
  ['tasklet_schedule', { objArg: 0 }],
  ['tasklet_hi_schedule', { objArg: 0 }],
]);
export const TASKLET_INIT_APIS: ReadonlyMap<string, { objArg: number; fnArg: number }> = new Map([
  ['tasklet_setup', { objArg: 0, fnArg: 1 }],
  ['tasklet_init', { objArg: 0, fnArg: 1 }],
]);

/** wake_up*(&wq) (include/linux/wait.h): the wait queue head is argument 0. */
export const WAKE_API =
  /^wake_up(?:_interruptible|_all|_interruptible_all|_nr|_interruptible_nr|_poll|_interruptible_poll|_sync|_interruptible_sync|_locked|_all_locked)?$/;
/**
 * wait_event*(wq, condition): the condition is evaluated by the waiting task. The _lock_irq and
 * _locked_irq forms evaluate it under spin_lock_irq(), which the lock dataflow does not see: not
 * counted.
 */
export const WAIT_API = /^wait_event(?:_(?!\w*lock(?:ed)?_irq)\w+)?$/;

/** trylocks the lock dataflow does not hold at a drain (mutex_trylock(), a result kept in a variable). */
export const TRYLOCK_CALL = /^(?:mutex_trylock|spin_trylock|raw_spin_trylock|spin_trylock_bh|raw_spin_trylock_bh)$/;

/** The types of the callback tables virtio_find_vqs() takes (6.11+ and before). */
export const VQ_TABLE_TYPES: readonly string[] = ['virtqueue_info', 'vq_callback_t'];

/**
 * The shortest byte strings that find every name of `names` by substring search: a name that
 * contains another (`virtqueue_get_buf_ctx`, `schedule_work_on`) is found by the shorter one.
 * The prefilters (fileFacts.ts) search for these.
 */
export function substringTokens(names: Iterable<string>): string[] {
  const all = [...new Set(names)].sort((a, b) => a.length - b.length || compareCodeUnits(a, b));
  const out: string[] = [];
  for (const n of all) if (!out.some(t => n.includes(t))) out.push(n);
  return out;
}
