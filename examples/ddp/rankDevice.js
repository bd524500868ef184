// Where a rank trains: with NCCL on a GPU machine, its own GPU (mpirun's local rank picks it, as
// the engine does); elsewhere the CPU under MPI. Joins the process group on that backend.
'use strict';
const mp = require('mixprec');

function joinOnRankDevice() {
  const nccl = mp.cuda.isAvailable() && mp.distributed.isAvailable('nccl');
  const localRank = Number(process.env.OMPI_COMM_WORLD_LOCAL_RANK ?? 0);
  mp.distributed.initProcessGroup({ backend: nccl ? 'nccl' : 'mpi' });
  return { device: nccl ? `cuda:${localRank % mp.cuda.deviceCount()}` : 'cpu', deviceType: nccl ? 'cuda' : 'cpu' };
}

module.exports = { joinOnRankDevice };
