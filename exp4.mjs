import { SessionFactory } from 'tether/sessions';
const result = { rows: [], rowCount: 0, command: 'SELECT' };
const client = { query: () => Promise.resolve(result), release(){}, getTransactionStatus: () => 'I', processID: 1 };
const pool = { connect: () => Promise.resolve(client), query: () => Promise.resolve(result), end: () => Promise.resolve(), on(){}, totalCount:1, idleCount:1, waitingCount:0 };
const uid='4f5a8f0e-7a53-4a8e-9c3b-0f1d2a3b4c5d';
const f0 = new SessionFactory({ pool, leakDetectionThresholdMs: process.env.LEAK ? 10000 : 0, maxSessionLifetimeMs: 0 });
for(let i=0;i<50000;i++) await f0.withSession({userId:uid, requestId:'bench'}, s=>s.query('SELECT 1'));
const t=performance.now(); for(let i=0;i<300000;i++) await f0.withSession({userId:uid, requestId:'bench'}, s=>s.query('SELECT 1'));
console.log(((performance.now()-t)*1000/300000).toFixed(2), 'us');
