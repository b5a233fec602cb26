using Mcpd.Server.Gateway;
using Microsoft.Extensions.Time.Testing;

namespace Mcpd.Server.Tests.Gateway;

/// <summary>
/// The upstream's circuit breaker on its own clock (docs/gateway.md, "Circuit breaker"): the ratio over enough
/// attempts in the window opens it, the break ends in one trial at a time, the trial decides, unproven outcomes count
/// for nothing, old outcomes slide out of the window.
/// </summary>
public sealed class UpstreamCircuitTests
{
    private readonly FakeTimeProvider _time = new();
    private readonly List<string> _changes = [];
    private readonly UpstreamCircuit _circuit;

    public UpstreamCircuitTests() => _circuit = new UpstreamCircuit(
        new UpstreamBreakerOptions { FailureRatio = 0.5, MinimumThroughput = 4, SamplingDuration = TimeSpan.FromSeconds(10), BreakDuration = TimeSpan.FromSeconds(5) },
        _time,
        _changes.Add);

    [Fact]
    public void Failures_below_the_minimum_throughput_keep_it_closed_and_at_the_ratio_open_it()
    {
        Attempt(AttemptVerdict.Failed, AttemptVerdict.Failed, AttemptVerdict.Failed);
        Assert.Equal(CircuitPosition.Closed, _circuit.Position);

        Attempt(AttemptVerdict.Failed);

        Assert.Equal(CircuitPosition.Open, _circuit.Position);
        Assert.False(_circuit.TryEnter(out _));
        Assert.Equal(["the circuit opened for 00:00:05 after repeated failures"], _changes);
    }

    [Fact]
    public void A_ratio_under_the_threshold_keeps_it_closed_and_unproven_outcomes_count_for_nothing()
    {
        Attempt(AttemptVerdict.Answered, AttemptVerdict.Answered, AttemptVerdict.Answered, AttemptVerdict.Failed);
        Attempt(AttemptVerdict.Unproven, AttemptVerdict.Unproven, AttemptVerdict.Unproven);
        Assert.Equal(CircuitPosition.Closed, _circuit.Position);

        // 2 failures of 5 counted attempts (the unproven ones are not among them): 40 %, then 3 of 6: 50 %.
        Attempt(AttemptVerdict.Failed);
        Assert.Equal(CircuitPosition.Closed, _circuit.Position);
        Attempt(AttemptVerdict.Failed);
        Assert.Equal(CircuitPosition.Open, _circuit.Position);
    }

    [Fact]
    public void Outcomes_older_than_the_window_are_forgotten()
    {
        Attempt(AttemptVerdict.Failed, AttemptVerdict.Failed, AttemptVerdict.Failed);
        _time.Advance(TimeSpan.FromSeconds(11));

        Attempt(AttemptVerdict.Failed);

        Assert.Equal(CircuitPosition.Closed, _circuit.Position);
    }

    [Fact]
    public void After_the_break_one_trial_goes_through_at_a_time_and_its_answer_closes_the_circuit()
    {
        Open();
        _time.Advance(TimeSpan.FromSeconds(4.9));
        Assert.False(_circuit.TryEnter(out _));
        _time.Advance(TimeSpan.FromSeconds(0.1));

        Assert.True(_circuit.TryEnter(out var trial));
        Assert.True(trial);
        Assert.Equal(CircuitPosition.HalfOpen, _circuit.Position);
        Assert.False(_circuit.TryEnter(out _));

        _circuit.Record(AttemptVerdict.Answered, trial);

        Assert.Equal(CircuitPosition.Closed, _circuit.Position);
        Assert.True(_circuit.TryEnter(out var after));
        Assert.False(after);
        Assert.Equal("the circuit closed: the device answered", _changes[^1]);
    }

    [Fact]
    public void A_failed_trial_opens_it_again_for_a_whole_break()
    {
        Open();
        _time.Advance(TimeSpan.FromSeconds(5));
        Assert.True(_circuit.TryEnter(out var trial));

        _circuit.Record(AttemptVerdict.Failed, trial);

        Assert.Equal(CircuitPosition.Open, _circuit.Position);
        _time.Advance(TimeSpan.FromSeconds(4));
        Assert.False(_circuit.TryEnter(out _));
    }

    [Fact]
    public void An_unproven_trial_hands_the_trial_to_the_next_attempt()
    {
        Open();
        _time.Advance(TimeSpan.FromSeconds(5));
        Assert.True(_circuit.TryEnter(out var abandoned));

        _circuit.Record(AttemptVerdict.Unproven, abandoned);

        Assert.Equal(CircuitPosition.HalfOpen, _circuit.Position);
        Assert.True(_circuit.TryEnter(out var next));
        Assert.True(next);
    }

    [Fact]
    public void Closing_by_hand_forgets_the_failures_counted()
    {
        Open();

        _circuit.Close();
        Attempt(AttemptVerdict.Failed);

        Assert.Equal(CircuitPosition.Closed, _circuit.Position);
        Assert.Equal("the circuit closed: the device accepts connections again", _changes[^1]);
    }

    private void Open()
    {
        Attempt(AttemptVerdict.Failed, AttemptVerdict.Failed, AttemptVerdict.Failed, AttemptVerdict.Failed);
        Assert.Equal(CircuitPosition.Open, _circuit.Position);
    }

    private void Attempt(params AttemptVerdict[] verdicts)
    {
        foreach (var verdict in verdicts)
        {
            Assert.True(_circuit.TryEnter(out var trial));
            _circuit.Record(verdict, trial);
        }
    }
}
