// Runs one trainRecipe.js configuration inside a worker_thread: reports 'ready' once the addon is
// loaded, trains when the parent says 'go' (so all runs start together), then posts the result.
const { parentPort, workerData } = require('node:worker_threads');
const mp = require('../../dist');
const { train } = require('./trainRecipe');

parentPort.once('message', () => {
  parentPort.postMessage({ result: train(mp, workerData.name, workerData.seed) });
});
parentPort.postMessage('ready');
