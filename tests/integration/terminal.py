"""A real terminal for the interactive tests: a private tmux server running
one command in a window of a given size, whose screen the test reads and
whose keyboard and size it drives. Use as a context manager; leaving it
kills the server.
"""
import subprocess
import time


class Terminal:
    def __init__(self, sock, command, width=100, height=30):
        self.tmux = ["tmux", "-S", sock]
        subprocess.run(self.tmux + ["new-session", "-d", "-s", "t", "-x", str(width),
                                    "-y", str(height), command], check=True)

    def screen(self):
        return subprocess.run(self.tmux + ["capture-pane", "-t", "t", "-p"],
                              capture_output=True, text=True).stdout

    def wait_for(self, text, timeout=60):
        """True once text is on the screen; False after timeout seconds."""
        deadline = time.time() + timeout
        while time.time() < deadline:
            if text in self.screen():
                return True
            time.sleep(0.2)
        return False

    def type(self, line):
        subprocess.run(self.tmux + ["send-keys", "-t", "t", line, "Enter"], check=True)

    def keys(self, *keys):
        """Sends keys (tmux names: "C-p") with no Enter after them."""
        subprocess.run(self.tmux + ["send-keys", "-t", "t", *keys], check=True)

    def resize(self, width, height):
        subprocess.run(self.tmux + ["resize-window", "-t", "t", "-x", str(width),
                                    "-y", str(height)], check=True)

    def close(self):
        subprocess.run(self.tmux + ["kill-server"], capture_output=True)

    def __enter__(self):
        return self

    def __exit__(self, *exc):
        self.close()
