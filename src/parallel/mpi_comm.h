// The MPI communicator over MPI_COMM_WORLD (host buffers). Large buffers go
// in chunks, so no collective needs more than a chunk of scratch memory and
// no count exceeds MPI's int range (a 28672² fp64 Hessian is 6.6 GB).
#pragma once

#include <memory>

#include "parallel/comm.h"

namespace maca::parallel {

// Requires MPI_Init to have run. Throws maca::Error when maca was built
// without MPI.
std::unique_ptr<Comm> make_mpi_comm();

}  // namespace maca::parallel
