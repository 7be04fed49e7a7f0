using System;

namespace ShardGen.Mpi;

/// <summary>No MPI library could be loaded: the message names what was tried and what to install.</summary>
public sealed class MpiNotFoundException : Exception
{
    public MpiNotFoundException(string message, Exception? inner = null) : base(message, inner)
    {
    }
}

/// <summary>An MPI call returned an error code, or the MPI job is not in a state ShardGen can run in.</summary>
public sealed class MpiException : Exception
{
    public MpiException(string message) : base(message)
    {
    }
}
