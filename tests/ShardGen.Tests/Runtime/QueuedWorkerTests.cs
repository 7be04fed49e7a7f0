using System;
using System.Collections.Generic;
using System.Threading;
using ShardGen.Cpu;
using ShardGen.Devices;

namespace ShardGen.Tests.Runtime;

/// <summary>The worker base both in-process backends run on, with commands of its own: order, errors, stopping.</summary>
public sealed class QueuedWorkerTests
{
    [Theory]
    [InlineData(false)]
    [InlineData(true)]
    public void RunsCommandsInOrderAndWaitsUntilIdle(bool spin)
    {
        var worker = new RecordingWorker(spin);
        var random = new Random(7);
        var expected = new List<int>();
        for (int i = 0; i < 500; i++)
        {
            int value = random.Next();
            expected.Add(value);
            worker.Enqueue(value);
        }
        worker.WaitIdle();
        Assert.Equal(expected, worker.Ran);
        Assert.True(worker.Stop());
        Assert.True(worker.Released);
    }

    [Fact]
    public void TheFirstFailureIsThrownOnceAsTheDevicesKernelException()
    {
        var worker = new RecordingWorker(spin: false);
        worker.Enqueue(-1);
        worker.Enqueue(-2);
        worker.Enqueue(3);
        worker.WaitIdle();
        var e = Assert.Throws<DeviceKernelException>(worker.ThrowPendingError);
        Assert.Contains("test:0", e.Message);
        Assert.Equal("command -1 failed", e.InnerException!.Message);
        worker.ThrowPendingError(); // taken: nothing left to throw
        Assert.Contains(3, worker.Ran); // later commands still ran
        worker.Stop();
    }

    [Fact]
    public void AStoppedWorkerDrainsItsQueueThenRefusesWorkNamingTheDevice()
    {
        var worker = new RecordingWorker(spin: false);
        var gate = new ManualResetEventSlim();
        worker.Gate0 = gate;
        worker.Enqueue(0); // blocks the worker until the gate opens
        for (int i = 1; i <= 3; i++) worker.Enqueue(i);
        worker.BeginStop();
        Assert.False(worker.TryEnqueue(4));
        var refused = Assert.Throws<ObjectDisposedException>(() => worker.Enqueue(5));
        Assert.Contains("Device test:0 was disposed", refused.Message);
        gate.Set();
        Assert.True(worker.Stop());
        Assert.False(worker.Stop()); // the second call has nothing to wait for
        Assert.Equal(new[] { 0, 1, 2, 3 }, worker.Ran);
        Assert.True(worker.Released);
    }

    /// <summary>Records the commands it runs; a negative command fails; command 0 waits for <see cref="Gate0"/> when set.</summary>
    private sealed class RecordingWorker : QueuedWorker<int>
    {
        public RecordingWorker(bool spin) : base("test:0", spin) => Start();

        public List<int> Ran { get; } = new();

        public ManualResetEventSlim? Gate0 { get; set; }

        public bool Released { get; private set; }

        protected override void Execute(in int command)
        {
            if (command == 0) Gate0?.Wait();
            if (command < 0) throw new InvalidOperationException($"command {command} failed");
            Ran.Add(command);
        }

        protected override void ReleaseAll() => Released = true;
    }
}
