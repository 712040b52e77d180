/**
 * bpfkit tc qdisc|class|filter … — tc-bpf(8) over rtnetlink, with iproute2's words (docs/tc.md).
 */
import { readFileSync } from 'node:fs';
import { BpfkitError, InputError, UsageError, describeError, exitCodeOf } from '../../util/errors.js';
import { runTcExec } from './tc-exec.js';

const usage = `usage: bpfkit tc qdisc add|del|show [dev DEV] clsact|ingress | [root|parent X:Y] [handle X:] htb [default N] [r2q N]
       bpfkit tc class add dev DEV parent X: classid X:Y htb rate RATE [ceil RATE] [burst BYTES] [prio N]
       bpfkit tc filter add|replace|change dev DEV ingress|egress|root|parent X:Y [prio N] [handle H]
                 [protocol P] [chain N] bpf { obj FILE [sec NAME] | bytecode 'N,c t f k,...' | bytecode-file FILE
                 | pinned PATH } [da] [classid X:Y] [skip_sw|skip_hw] [verbose]
                 [action bpf { obj FILE [sec NAME] | bytecode STR } [ok|pipe|drop|reclassify|continue]]...
       bpfkit tc filter del|show dev DEV [ingress|egress|root|parent X:Y] [prio N] [handle H] [protocol P]
       bpfkit tc exec bpf imp|import UDS_FILE [run CMD [ARGS...]]
       bpfkit tc [-force] -batch FILE     (one command per line, as tc -batch; - reads stdin)

Speaks rtnetlink directly (no tc binary). 'filter show' prints what iproute2's 'tc filter show' prints.
Objects load with tc's pinning: PIN_GLOBAL_NS and LIBBPF_PIN_BY_NAME maps in /sys/fs/bpf/tc/globals,
PIN_OBJECT_NS maps in /sys/fs/bpf/tc/<sha1 of the object>. 'bpf obj F export UDS_FILE' hands the object's
maps to 'tc exec bpf imp UDS_FILE' (bpfkit's or iproute2's), which runs CMD (default /bin/sh) with them.
`;

export async function run(argv: string[]): Promise<number> {
  const [what] = argv;
  if (!what || what === '--help' || what === '-h' || what === 'help') {
    process.stdout.write(usage);
    return what ? 0 : 2;
  }
  if (what === '-batch' || what === '-b' || what === '-force' || what === '-f') return runBatch(argv);
  return runOne(argv);
}

type Tc = typeof import('../../tc/index.js');

/** One tc command: the words after `tc`. */
async function runOne(argv: string[], loaded?: Tc): Promise<number> {
  const [what, ...rest] = argv;
  const tc = loaded ?? (await import('../../tc/index.js'));
  if (what === 'qdisc') {
    const r = tc.parseQdiscArgs(rest);
    if (r.verb === 'show') process.stdout.write(tc.qdisc.show(r.dev));
    else if (r.verb === 'add') tc.qdisc.add(r);
    else tc.qdisc.del(r);
    return 0;
  }
  if (what === 'class') {
    tc.htbClass.add(tc.parseClassArgs(rest));
    return 0;
  }
  if (what === 'filter') {
    const r = tc.parseFilterArgs(rest);
    if (r.verb === 'show') process.stdout.write(tc.filter.show(r));
    else if (r.verb === 'del') tc.filter.del(r);
    else {
      // As iproute2: TC_BPF_UDS in the environment exports an object's maps without the word.
      if (!r.exportTo && process.env.TC_BPF_UDS && r.source?.kind === 'object') r.exportTo = process.env.TC_BPF_UDS;
      const res = await tc.filter.install(r);
      for (const log of res.logs) process.stderr.write(log.endsWith('\n') ? log : `${log}\n`);
    }
    return 0;
  }
  if (what === 'exec') return runTcExec(rest);
  throw new UsageError(`tc: unknown object '${what}' (qdisc, class, filter, exec)\n${usage}`);
}

/**
 * `tc [-force] -batch FILE`: each line a command, run in order over one rtnetlink socket. The first failure
 * stops the batch (its line named); with -force the rest still run and the status is the last failure's.
 */
async function runBatch(argv: string[]): Promise<number> {
  let force = false;
  let file: string | undefined;
  for (let i = 0; i < argv.length; i++) {
    const w = argv[i]!;
    if (w === '-force' || w === '-f') force = true;
    else if ((w === '-batch' || w === '-b') && argv[i + 1] !== undefined) file = argv[++i];
    else throw new UsageError(`tc: '${w}' (usage: bpfkit tc [-force] -batch FILE, '-' for stdin)`);
  }
  if (!file) throw new UsageError('tc -batch needs a FILE (or - for stdin)');
  let text: string;
  try {
    text = readFileSync(file === '-' ? 0 : file, 'utf8');
  } catch (err) {
    throw new InputError(`cannot read: ${(err as NodeJS.ErrnoException).code ?? String(err)}`, file);
  }
  const tc = await import('../../tc/index.js');
  const commands = tc.parseBatch(text, file);
  let status = 0;
  tc.cacheDeviceIndexes(true);
  try {
    for (const c of commands) {
      try {
        if (c.words[0] === 'exec') throw new UsageError("'exec' does not belong in a batch");
        await runOne(c.words, tc);
      } catch (err) {
        if (!(err instanceof BpfkitError)) throw err;
        const failed = new BpfkitError(`${file}:${c.line}: ${describeError(err)}`, exitCodeOf(err));
        if (!force) throw failed;
        process.stderr.write(`bpfkit tc: ${describeError(failed)}\n`);
        status = failed.exitCode;
      }
    }
  } finally {
    tc.cacheDeviceIndexes(false);
  }
  return status;
}
