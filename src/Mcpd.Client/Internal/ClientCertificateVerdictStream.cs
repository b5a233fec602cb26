using System.Diagnostics;
using System.Net.Security;
using System.Security.Authentication;

namespace Mcpd.Client.Internal;

/// <summary>
/// A TLS connection whose server asked for the client's certificate. The server judges the certificate after the
/// handshake has completed on the client's side (always in TLS 1.3; .NET servers in 1.2 as well) and, refusing it,
/// closes the connection without a word. So until the first byte arrives, and within <c>window</c> of the handshake,
/// the end of the stream or a broken read or write is that refusal: it is thrown as an
/// <see cref="AuthenticationException"/> with <c>refusal</c> for its message. After the first byte (the server
/// accepted) or after the window (a later close is no verdict) the stream is the <see cref="SslStream"/> it wraps.
/// </summary>
internal sealed class ClientCertificateVerdictStream(SslStream tls, TimeSpan window, string refusal) : Stream
{
    private readonly long _handshakeEnded = Stopwatch.GetTimestamp();

    /// <summary>Set once a byte arrived: the server accepted the certificate, and reads and writes go straight through.</summary>
    private volatile bool _accepted;

    public override bool CanRead => true;

    public override bool CanWrite => true;

    public override bool CanSeek => false;

    public override long Length => throw new NotSupportedException();

    public override long Position
    {
        get => throw new NotSupportedException();
        set => throw new NotSupportedException();
    }

    public override ValueTask<int> ReadAsync(Memory<byte> buffer, CancellationToken cancellationToken = default) =>
        _accepted ? tls.ReadAsync(buffer, cancellationToken) : FirstReadAsync(buffer, cancellationToken);

    public override Task<int> ReadAsync(byte[] buffer, int offset, int count, CancellationToken cancellationToken) =>
        ReadAsync(buffer.AsMemory(offset, count), cancellationToken).AsTask();

    public override ValueTask WriteAsync(ReadOnlyMemory<byte> buffer, CancellationToken cancellationToken = default) =>
        _accepted ? tls.WriteAsync(buffer, cancellationToken) : WriteBeforeVerdictAsync(buffer, cancellationToken);

    public override Task WriteAsync(byte[] buffer, int offset, int count, CancellationToken cancellationToken) =>
        WriteAsync(buffer.AsMemory(offset, count), cancellationToken).AsTask();

    public override Task FlushAsync(CancellationToken cancellationToken) => tls.FlushAsync(cancellationToken);

    public override int Read(byte[] buffer, int offset, int count) => throw new NotSupportedException("Asynchronous reads only.");

    public override void Write(byte[] buffer, int offset, int count) => throw new NotSupportedException("Asynchronous writes only.");

    public override void Flush() => tls.Flush();

    public override long Seek(long offset, SeekOrigin origin) => throw new NotSupportedException();

    public override void SetLength(long value) => throw new NotSupportedException();

    protected override void Dispose(bool disposing)
    {
        if (disposing)
        {
            tls.Dispose();
        }

        base.Dispose(disposing);
    }

    private async ValueTask<int> FirstReadAsync(Memory<byte> buffer, CancellationToken cancellationToken)
    {
        int read;
        try
        {
            read = await tls.ReadAsync(buffer, cancellationToken);
        }
        catch (IOException ex) when (IsVerdict)
        {
            throw new AuthenticationException(refusal + ".", ex);
        }

        if (read > 0)
        {
            _accepted = true;
        }
        else if (!buffer.IsEmpty && IsVerdict)
        {
            throw new AuthenticationException(refusal + ".");
        }

        return read;
    }

    private async ValueTask WriteBeforeVerdictAsync(ReadOnlyMemory<byte> buffer, CancellationToken cancellationToken)
    {
        try
        {
            await tls.WriteAsync(buffer, cancellationToken);
        }
        catch (IOException ex) when (IsVerdict)
        {
            throw new AuthenticationException(refusal + ".", ex);
        }
    }

    /// <summary>True while a close means the certificate was refused: before the first byte, within the window.</summary>
    private bool IsVerdict => !_accepted && Stopwatch.GetElapsedTime(_handshakeEnded) < window;
}
