import * as assert from 'node:assert/strict';
import * as fs from 'node:fs';
import * as path from 'node:path';
import {
  FileChange,
  formatPatch,
  formatPatchMail,
  patchFileName,
  rfc2822Date,
  subjectPrefix,
  subjectPrefixForPath,
  subjectPrefixFromLog,
  toMbox,
  wrapParagraphs,
} from '../../src/fix/mail';
import { VERSION } from '../../src/version';
import { FIXTURES } from '../helpers/fixtures';

const DIR = path.join(FIXTURES, 'fix-mail');

interface MailCase {
  name: string;
  author: { name: string; email: string };
  date: string;
  tz: number;
  subject: string;
  body: string;
  trailers: string[];
  files: { path: string; oldFile?: string; newFile?: string; old?: string; new?: string }[];
  expected: string;
}

const cases = JSON.parse(fs.readFileSync(path.join(DIR, 'cases.json'), 'utf8')) as { gitVersion: string; mails: MailCase[] };
const read = (f: string) => fs.readFileSync(path.join(DIR, f), 'utf8');
const filesOf = (c: MailCase): FileChange[] =>
  c.files.map(f => ({ path: f.path, oldText: f.oldFile ? read(f.oldFile) : f.old!, newText: f.newFile ? read(f.newFile) : f.new! }));
const gitVersion = cases.gitVersion.replace(/^git version /, '');
const commitOf = (mail: string) => /^From ([0-9a-f]{40}) /.exec(mail)![1];
const jane = { name: 'Jane Dev', email: 'jane@example.com' };

describe('format-patch mail', () => {
  describe(`byte-identical to ${cases.gitVersion} format-patch`, () => {
    for (const c of cases.mails) {
      it(c.name, () => {
        const got = formatPatch({
          from: c.author,
          date: new Date(c.date),
          tzOffsetMinutes: c.tz,
          subject: c.subject,
          body: c.body,
          trailers: c.trailers,
          files: filesOf(c),
          commit: commitOf(c.expected),
          signature: gitVersion,
          wrapBody: false,
        });
        assert.equal(got, c.expected);
      });
    }
  });

  it('wraps an unwrapped body into the same message', () => {
    const c = cases.mails.find(m => m.name === 'single')!;
    // The fixture body joined back into one line per paragraph and list item.
    const unwrapped = c.body.replace(/([^\n])\n(?!\n|\d\. )[ \t]*/g, '$1 ');
    assert.notEqual(unwrapped, c.body);
    const got = formatPatch({
      from: c.author,
      date: new Date(c.date),
      tzOffsetMinutes: c.tz,
      subject: c.subject,
      body: unwrapped,
      trailers: c.trailers,
      files: filesOf(c),
      commit: commitOf(c.expected),
      signature: gitVersion,
    });
    assert.equal(got, c.expected);
  });

  it('makes one numbered mail per file with prefixes from the path', () => {
    const c = cases.mails.find(m => m.name === 'single')!;
    const [vq] = filesOf(c);
    const mails = formatPatchMail({
      from: jane,
      date: new Date('2024-03-05T13:07:09Z'),
      patches: [
        { ...vq, path: 'fs/fuse/virtio_fs.c', summary: 'take the lock with irqsave in the done work', body: 'One.' },
        { ...vq, path: 'drivers/gpu/drm/virtio/virtgpu_vq.c', summary: 'take the lock with irqsave', body: 'Two.' },
        { ...vq, path: 'drivers/demo/toy.c', prefix: '', summary: 'no prefix here', body: 'Three.' },
      ],
    });
    assert.deepEqual(
      mails.map(m => m.subject),
      ['virtiofs: take the lock with irqsave in the done work', 'drm/virtio: take the lock with irqsave', 'no prefix here'],
    );
    assert.deepEqual(
      mails.map(m => m.fileName),
      [
        '0001-virtiofs-take-the-lock-with-irqsave-in-the-done-work.patch',
        '0002-drm-virtio-take-the-lock-with-irqsave.patch',
        '0003-no-prefix-here.patch',
      ],
    );
    const first = mails[0].text;
    assert.match(first, /^From 0{40} Mon Sep 17 00:00:00 2001\nFrom: Jane Dev <jane@example.com>\nDate: Tue, 5 Mar 2024 13:07:09 \+0000\n/);
    assert.match(
      first,
      /\nSubject: \[PATCH 1\/3\] virtiofs: take the lock with irqsave in the done work\n\nOne\.\n\nSigned-off-by: Jane Dev <jane@example.com>\n---\n fs\/fuse\/virtio_fs\.c \| 5 \+\+\+--\n/,
    );
    assert.match(first, /\ndiff --git a\/fs\/fuse\/virtio_fs\.c b\/fs\/fuse\/virtio_fs\.c\nindex 96d9484\.\.3ef59ca 100644\n/);
    assert.ok(first.endsWith(`\n-- \nvirtio-race-lint ${VERSION}\n\n`));
    assert.match(mails[1].text, /\nSubject: \[PATCH 2\/3\] drm\/virtio: /);
    assert.equal(toMbox(mails), mails.map(m => m.text).join(''));
  });

  it('pads patch numbers, adds the re-roll count and a custom tag', () => {
    const files: FileChange[] = [{ path: 'a.c', oldText: 'a\n', newText: 'b\n' }];
    const subjectLine = (opts: Partial<Parameters<typeof formatPatch>[0]>) =>
      /\nSubject: (.*)\n/.exec(formatPatch({ from: jane, date: new Date(0), subject: 'x: y', files, ...opts }))![1];
    assert.equal(subjectLine({ number: { index: 3, total: 12 } }), '[PATCH 03/12] x: y');
    assert.equal(subjectLine({ number: { index: 1, total: 1 } }), '[PATCH] x: y');
    assert.equal(subjectLine({ version: 2, number: { index: 1, total: 2 } }), '[PATCH v2 1/2] x: y');
    assert.equal(subjectLine({ subjectTag: 'RFC PATCH', version: 3 }), '[RFC PATCH v3] x: y');
  });

  it('signs off once, after the trailers, joining a trailer block', () => {
    const files: FileChange[] = [{ path: 'a.c', oldText: 'a\n', newText: 'b\n' }];
    const body = (opts: Partial<Parameters<typeof formatPatch>[0]>) => {
      const mail = formatPatch({ from: jane, date: new Date(0), subject: 'x: y', files, signature: false, ...opts });
      return mail.slice(mail.indexOf('\n\n') + 2, mail.indexOf('\n---\n'));
    };
    assert.equal(
      body({ body: 'Text.', trailers: ['Cc: stable@vger.kernel.org'] }),
      'Text.\n\nCc: stable@vger.kernel.org\nSigned-off-by: Jane Dev <jane@example.com>',
    );
    assert.equal(
      body({ body: 'Text.\n\nReported-by: Someone <s@example.com>' }),
      'Text.\n\nReported-by: Someone <s@example.com>\nSigned-off-by: Jane Dev <jane@example.com>',
    );
    assert.equal(
      body({ body: 'Text.\n\nSigned-off-by: Jane Dev <jane@example.com>' }),
      'Text.\n\nSigned-off-by: Jane Dev <jane@example.com>',
    );
    assert.equal(body({ body: 'Text.', signedOffBy: [] }), 'Text.');
  });

  it('passes the hunk-header rule and abbrev through to the diff', () => {
    const old = read('toy_labels.c');
    const fixed = read('toy_labels.fixed.c');
    const mail = (funcname?: 'cpp') =>
      formatPatch({
        from: jane,
        date: new Date(0),
        subject: 'x: y',
        files: [{ path: 'toy_labels.c', oldText: old, newText: fixed }],
        funcname,
        abbrev: 12,
      });
    assert.match(mail(), /\n@@ -30,16 \+30,18 @@ free_slots:\n/);
    assert.match(mail('cpp'), /\n@@ -30,16 \+30,18 @@ static int toy_ring_fill\(struct toy_ring \*r, gfp_t gfp\)\n/);
    assert.match(mail(), /\nindex 9abaad5[0-9a-f]{5}\.\.fceec1d[0-9a-f]{5} 100644\n/);
  });

  it('ends without a signature block when asked', () => {
    const mail = formatPatch({
      from: jane,
      date: new Date(0),
      subject: 'x: y',
      files: [{ path: 'a.c', oldText: 'a\n', newText: 'b\n' }],
      signature: false,
    });
    assert.ok(mail.endsWith('+b\n'));
  });
});

describe('dates', () => {
  it('prints RFC 2822 dates as git does', () => {
    const d = new Date('2024-03-05T13:07:09Z');
    assert.equal(rfc2822Date(d, 60), 'Tue, 5 Mar 2024 14:07:09 +0100');
    assert.equal(rfc2822Date(d, 0), 'Tue, 5 Mar 2024 13:07:09 +0000');
    assert.equal(rfc2822Date(new Date('2024-01-01T02:00:00.900Z'), -330), 'Sun, 31 Dec 2023 20:30:00 -0530');
    assert.equal(rfc2822Date(new Date('2024-02-29T23:30:00Z'), 45), 'Fri, 1 Mar 2024 00:15:00 +0045');
  });
});

describe('file names', () => {
  it('matches the names git format-patch writes', () => {
    // Names printed by git 2.39.5 for this subject, with and without -v2.
    const s = 'virtiofs: take the lock with spin_lock_irqsave() in virtio_fs_requests_done_work...';
    assert.equal(patchFileName(1, s), '0001-virtiofs-take-the-lock-with-spin_lock_irqsave-in-vir.patch');
    assert.equal(patchFileName(1, s, 2), 'v2-0001-virtiofs-take-the-lock-with-spin_lock_irqsave-in-.patch');
    assert.equal(patchFileName(12, 'a..b: c!'), '0012-a.b-c.patch');
  });
});

describe('wrapParagraphs', () => {
  const longest = (s: string) => Math.max(...s.split('\n').map(l => l.length));

  it('fills prose paragraphs to 75 columns', () => {
    const para =
      'Notification suppression is only a hint: the device can add used buffers and raise its interrupt while the handler drains the queue, so the interrupt may land on an empty ring.';
    const out = wrapParagraphs(`${para}\n\n${para}`);
    assert.ok(longest(out) <= 75);
    assert.equal(out.split('\n\n').length, 2);
    assert.equal(out.split('\n\n')[0].replace(/\n/g, ' '), para);
    assert.ok(longest(wrapParagraphs(para, 40)) <= 40);
  });

  it('is idempotent', () => {
    const text =
      'A first paragraph that is long enough to be wrapped over more than one line of output text.\n\n' +
      '1. an item that also goes on for long enough to need a second line with a hanging indent;\n' +
      '2. a second item.\n\n    code();\n';
    const once = wrapParagraphs(text);
    assert.equal(wrapParagraphs(once), once);
  });

  it('never breaks inside a call', () => {
    const out = wrapParagraphs(
      'The drain loop in the deferred work calls the helper repeatedly as virtqueue_get_buf(fsvq->vq, &len) until it returns NULL.',
    );
    assert.ok(
      out.split('\n').some(l => l.includes('virtqueue_get_buf(fsvq->vq, &len)')),
      out,
    );
    assert.ok(longest(out) <= 75);
    // A call split over two input lines is joined again.
    assert.match(wrapParagraphs('calls virtqueue_get_buf(vq,\n&len) here'), /virtqueue_get_buf\(vq, &len\)/);
    // A name longer than the line is left whole rather than cut.
    const long = 'x'.repeat(80) + '()';
    assert.equal(wrapParagraphs(`see ${long} now`), `see\n${long}\nnow`);
  });

  it('breaks inside a call wider than the line, and around prose parentheses', () => {
    const call = 'f(' + Array.from({ length: 20 }, (_, i) => `arg${i}`).join(', ') + ')';
    assert.ok(longest(wrapParagraphs(`calls ${call}`)) <= 75);
    const prose = 'word '.repeat(12) + '(a parenthetical remark that goes on and on for quite a while indeed)';
    assert.ok(longest(wrapParagraphs(prose)) <= 75);
  });

  it('wraps numbered steps with a hanging indent', () => {
    const out = wrapParagraphs(
      'Steps:\n\n' +
        '1. the device adds used buffers and raises its interrupt while the work function drains the ring;\n' +
        '2. the work function takes the buffers;\n' +
        '10. the interrupt then finds an empty ring and vring_interrupt() returns IRQ_NONE to the core.',
    );
    assert.equal(
      out,
      'Steps:\n\n' +
        '1. the device adds used buffers and raises its interrupt while the work\n' +
        '   function drains the ring;\n' +
        '2. the work function takes the buffers;\n' +
        '10. the interrupt then finds an empty ring and vring_interrupt() returns\n' +
        '    IRQ_NONE to the core.',
    );
  });

  it('joins continuation lines of a list item', () => {
    assert.equal(wrapParagraphs('1. short\n   continued here\n2. next'), '1. short continued here\n2. next');
    assert.equal(wrapParagraphs('- a bullet\n  goes on'), '- a bullet goes on');
  });

  it('keeps indented, code-like, quoted, log and trailer lines as they are', () => {
    const keep = [
      '    irq 11: nobody cared (try booting with the "irqpoll" option)',
      '\tspin_lock(&fsvq->lock);',
      'spin_lock_irqsave(&fsvq->lock, flags);',
      '} while (!virtqueue_enable_cb(vq));',
      '> quoted mail text that is long but must stay exactly as the sender wrote it, really',
      '[   12.345678] irq 11: nobody cared (try booting with the "irqpoll" option) and more',
      'Fixes: 0123456789ab ("fuse: a subject that is long enough to pass the 75 column limit")',
      'Link: https://lore.kernel.org/all/20210101000000.0000-1-someone@example.com/',
      'callback(vq)      -> schedule_work(&priv->done_work)',
    ];
    for (const line of keep) {
      const text = `A short paragraph.\n${line}\nAnother sentence.`;
      assert.equal(wrapParagraphs(text), text, line);
    }
  });

  it('re-flows prose that merely ends with a semicolon or has two blanks after a sentence', () => {
    assert.equal(wrapParagraphs('one;\ntwo.  Three'), 'one; two.  Three');
  });
});

describe('subject prefixes', () => {
  it('takes the prefix of one subject', () => {
    assert.equal(subjectPrefix('virtiofs: fix the drain'), 'virtiofs');
    assert.equal(subjectPrefix('scsi: virtio_scsi: fix the drain'), 'scsi: virtio_scsi');
    assert.equal(subjectPrefix('[PATCH v2] drm/virtio: fix'), 'drm/virtio');
    assert.equal(subjectPrefix('virtio_console: quote "irq 11: nobody cared"'), 'virtio_console');
    assert.equal(subjectPrefix('Revert "virtiofs: fix"'), undefined);
    assert.equal(subjectPrefix("Merge tag 'x' of git://y"), undefined);
    assert.equal(subjectPrefix('no prefix at all'), undefined);
  });

  it('picks the most used prefix from a log, newest first', () => {
    assert.equal(
      subjectPrefixFromLog([
        'virtiofs: a',
        'fuse: b',
        'virtiofs: c',
        'treewide: d',
        'treewide: e',
        'treewide: f',
        'Revert "fuse: g"',
        'Revert "fuse: h"',
        "Merge branch 'fuse'",
        'fuse: i',
      ]),
      'virtiofs',
    );
    // A tie goes to the prefix used most recently.
    assert.equal(subjectPrefixFromLog(['drm/virtio: a', 'drm: b', 'drm: c', 'drm/virtio: d']), 'drm/virtio');
    assert.equal(subjectPrefixFromLog(['drm: b', 'drm/virtio: a', 'drm/virtio: d', 'drm: c']), 'drm');
    // Case variants count together; the newest spelling wins.
    assert.equal(subjectPrefixFromLog(['Virtio_console: a', 'virtio-console: b', 'virtio_console: c']), 'Virtio_console');
    assert.equal(subjectPrefixFromLog(['scsi: virtio_scsi: a', 'virtio_scsi: b', 'scsi: virtio_scsi: c']), 'scsi: virtio_scsi');
    assert.equal(subjectPrefixFromLog([]), undefined);
    assert.equal(subjectPrefixFromLog(['Revert "x: y"', 'treewide: z']), undefined);
  });

  it('knows the virtio areas', () => {
    const table: [string, string][] = [
      ['fs/fuse/virtio_fs.c', 'virtiofs'],
      ['drivers/gpu/drm/virtio/virtgpu_vq.c', 'drm/virtio'],
      ['drivers/char/virtio_console.c', 'virtio_console'],
      ['drivers/net/virtio_net.c', 'virtio_net'],
      ['drivers/block/virtio_blk.c', 'virtio-blk'],
      ['drivers/scsi/virtio_scsi.c', 'scsi: virtio_scsi'],
      ['drivers/virtio/virtio_balloon.c', 'virtio_balloon'],
      ['drivers/virtio/virtio_ring.c', 'virtio_ring'],
      ['drivers/virtio/virtio.c', 'virtio'],
      ['drivers/virtio/virtio_pci_modern.c', 'virtio_pci'],
      ['drivers/virtio/virtio_mem.c', 'virtio-mem'],
      ['sound/virtio/virtio_pcm_msg.c', 'ALSA: virtio'],
      ['net/vmw_vsock/virtio_transport.c', 'vsock/virtio'],
      ['net/9p/trans_virtio.c', '9p/trans_virtio'],
      ['drivers/crypto/virtio/virtio_crypto_core.c', 'crypto: virtio'],
      ['drivers/iommu/virtio-iommu.c', 'iommu/virtio'],
      ['drivers/bluetooth/virtio_bt.c', 'Bluetooth: virtio_bt'],
      ['drivers/char/hw_random/virtio-rng.c', 'hwrng: virtio'],
      ['drivers/i2c/busses/i2c-virtio.c', 'i2c: virtio'],
      ['drivers/gpio/gpio-virtio.c', 'gpio: virtio'],
      ['drivers/nvdimm/virtio_pmem.c', 'virtio_pmem'],
      ['drivers/nvdimm/nd_virtio.c', 'virtio_pmem'],
      ['drivers/rpmsg/virtio_rpmsg_bus.c', 'rpmsg: virtio'],
      ['drivers/firmware/arm_scmi/transports/virtio.c', 'firmware: arm_scmi'],
      ['drivers/net/wireless/virtual/mac80211_hwsim.c', 'wifi: mac80211_hwsim'],
      ['./fs/fuse/virtio_fs.c', 'virtiofs'],
    ];
    for (const [p, prefix] of table) assert.equal(subjectPrefixForPath(p), prefix, p);
  });

  it('derives a prefix for other paths', () => {
    assert.equal(subjectPrefixForPath('drivers/gpu/drm/i915/i915_irq.c'), 'drm/i915');
    assert.equal(subjectPrefixForPath('drivers/spi/spi-virtio.c'), 'spi: virtio');
    assert.equal(subjectPrefixForPath('drivers/misc/nsm.c'), 'misc: nsm');
    assert.equal(subjectPrefixForPath('drivers/net/ethernet/intel/e1000/e1000_main.c'), 'net: e1000');
    assert.equal(subjectPrefixForPath('fs/ext4/inode.c'), 'ext4');
    assert.equal(subjectPrefixForPath('sound/soc/codecs/foo.c'), 'ASoC: codecs');
    assert.equal(subjectPrefixForPath('kernel/irq/spurious.c'), 'genirq');
    assert.equal(subjectPrefixForPath('toy.c'), 'toy');
  });
});
