namespace ShardGen.Cpu;

/// <summary>
/// FIFO of <see cref="DeviceCommand"/>s in a power-of-two ring that doubles when full and never shrinks, so a
/// steady workload enqueues without allocating. Not thread-safe: the device guards it with its lock.
/// </summary>
internal sealed class CommandRing
{
    private DeviceCommand[] _items = new DeviceCommand[64];
    private int _head;

    public int Count { get; private set; }

    public void Push(in DeviceCommand command)
    {
        if (Count == _items.Length) Grow();
        _items[(_head + Count) & (_items.Length - 1)] = command;
        Count++;
    }

    /// <summary>Removes the oldest command; its slot is cleared so the ring holds no references to finished work.</summary>
    public void Pop(out DeviceCommand command)
    {
        command = _items[_head];
        _items[_head] = default;
        _head = (_head + 1) & (_items.Length - 1);
        Count--;
    }

    private void Grow()
    {
        var bigger = new DeviceCommand[_items.Length * 2];
        for (int i = 0; i < Count; i++) bigger[i] = _items[(_head + i) & (_items.Length - 1)];
        _items = bigger;
        _head = 0;
    }
}
