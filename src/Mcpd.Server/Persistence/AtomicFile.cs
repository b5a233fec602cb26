using System.Runtime.InteropServices;

namespace Mcpd.Server.Persistence;

/// <summary>
/// Replaces a file so that after a crash or a power cut it holds either its old content or the new one, whole:
/// the new content goes to <c>FILE.tmp</c> in the same directory, is flushed to disk (fsync), renamed over the
/// target (rename(2) is atomic within a file system) and the directory is flushed, so the rename itself is durable.
/// Invariant: the target is only ever replaced by a temporary file that was written and flushed completely; when any
/// step fails the target stays as it was and the temporary file is removed.
/// </summary>
internal static partial class AtomicFile
{
    private const int OpenReadOnlyDirectory = 0x10000; // O_RDONLY | O_DIRECTORY (Linux)

    /// <summary>The temporary file <see cref="Replace"/> writes before renaming it over <paramref name="path"/>.</summary>
    public static string TemporaryOf(string path) => path + ".tmp";

    /// <summary>Replaces <paramref name="path"/> (a full path) with <paramref name="content"/>; throws on failure, leaving it as it was.</summary>
    public static void Replace(string path, ReadOnlySpan<byte> content)
    {
        var temporary = TemporaryOf(path);
        try
        {
            using (var handle = File.OpenHandle(temporary, FileMode.Create, FileAccess.Write))
            {
                RandomAccess.Write(handle, content, fileOffset: 0);
                RandomAccess.FlushToDisk(handle);
            }

            File.Move(temporary, path, overwrite: true);
        }
        catch
        {
            DeleteLeftover(temporary);
            throw;
        }

        FlushDirectory(Path.GetDirectoryName(path)!);
    }

    /// <summary>Removes what a failed write left, if it can; the failure the caller sees is the write's.</summary>
    private static void DeleteLeftover(string temporary)
    {
        try
        {
            File.Delete(temporary);
        }
        catch (Exception ex) when (ex is IOException or UnauthorizedAccessException)
        {
            // A temporary file that cannot be removed is overwritten by the next attempt and never renamed unflushed.
        }
    }

    /// <summary>
    /// Makes the directory's entries durable (fsync on the directory), which .NET does not offer: it refuses to open
    /// a directory as a file. Elsewhere than Linux the rename is left to the file system.
    /// </summary>
    private static void FlushDirectory(string directory)
    {
        if (!OperatingSystem.IsLinux())
        {
            return;
        }

        var descriptor = open(directory, OpenReadOnlyDirectory);
        if (descriptor < 0)
        {
            throw new IOException($"Cannot open directory {directory} to flush it: errno {Marshal.GetLastPInvokeError()}");
        }

        var flushed = fsync(descriptor);
        var error = Marshal.GetLastPInvokeError();
        _ = close(descriptor);
        if (flushed != 0)
        {
            throw new IOException($"Cannot flush directory {directory}: errno {error}");
        }
    }

    [LibraryImport("libc", SetLastError = true, StringMarshalling = StringMarshalling.Utf8)]
    private static partial int open(string path, int flags);

    [LibraryImport("libc", SetLastError = true)]
    private static partial int fsync(int descriptor);

    [LibraryImport("libc", SetLastError = true)]
    private static partial int close(int descriptor);
}
