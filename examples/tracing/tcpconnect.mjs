// tcpconnect as a script: the tool behind `bpfkit trace tcpconnect`, used from the API.
// Run as root: node examples/tracing/tcpconnect.mjs
import { openTcpTool, tcpHeader, tcpLine } from 'bpfkit/trace';

const tool = await openTcpTool('connect');
console.log(tcpHeader('connect', {}));
for await (const ev of tool.events()) console.log(tcpLine('connect', ev, {}));
