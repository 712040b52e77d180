/**
 * Loads hooks.o into the kernel and never closes it; prints the program ids, then waits for a signal.
 * With `--link`, also attaches tc_count to lo's tcx ingress (run it inside a namespace).
 */
import { loadObjectFile } from '../../../src/elf/index.js';
import { loadKernelCollection } from '../../../src/kernel/collection.js';
import { linkInfo } from '../../../src/kernel/objects.js';

const coll = loadKernelCollection(loadObjectFile(process.argv[2]!));
const ids = [...coll.programs.values()].map((p) => p.info().id);
const links = process.argv.includes('--link') ? [linkInfo(coll.attachTc('tc_count', 'lo', 'ingress').fd).id] : [];
process.stdout.write(`${JSON.stringify({ ids, links })}\n`);
setInterval(() => {}, 1000); // stay alive until signalled
