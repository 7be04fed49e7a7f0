namespace ShardGen.Devices;

/// <summary>
/// FIFO of a device's queued commands in a power-of-two ring that doubles when full and never shrinks, so a steady
/// workload enqueues without allocating. Not thread-safe: the worker guards it with its lock.
/// </summary>
internal sealed class CommandRing<TCommand>
{
    private TCommand[] _items = new TCommand[64];
    private int _head;

    public int Count { get; private set; }

    public void Push(in TCommand command)
    {
        if (Count == _items.Length) Grow();
        _items[(_head + Count) & (_items.Length - 1)] = command;
        Count++;
    }

    /// <summary>Removes the oldest command; its slot is cleared so the ring holds no references to finished work.</summary>
    public void Pop(out TCommand command)
    {
        command = _items[_head];
        _items[_head] = default!;
        _head = (_head + 1) & (_items.Length - 1);
        Count--;
    }

    private void Grow()
    {
        var bigger = new TCommand[_items.Length * 2];
        for (int i = 0; i < Count; i++) bigger[i] = _items[(_head + i) & (_items.Length - 1)];
        _items = bigger;
        _head = 0;
    }
}
