"""Audio datasets as fixed-length log-mel clips: FSDD, Speech Commands, ESC-50, audio folders, and the
embedded spoken words synthesised with eSpeak NG."""

from selfsup.audio.datasets.audio_files import AudioFiles, audio_header, read_span
from selfsup.audio.datasets.audio_folder import load_audio_folder
from selfsup.audio.datasets.clips import AudioClips, SpectrogramDataset, load_clips
from selfsup.audio.datasets.esc50 import load_esc50
from selfsup.audio.datasets.fsdd import fsdd_recordings, fsdd_takes, load_fsdd
from selfsup.audio.datasets.speech_commands import load_speech_commands
from selfsup.audio.datasets.spoken_words import DIGIT_WORDS, VOICES, speak_words, synthesize_words

__all__ = [
           "DIGIT_WORDS",
           "VOICES",
           "AudioClips",
           "AudioFiles",
           "SpectrogramDataset",
           "audio_header",
           "fsdd_recordings",
           "fsdd_takes",
           "load_audio_folder",
           "load_clips",
           "load_esc50",
           "load_fsdd",
           "load_speech_commands",
           "read_span",
           "speak_words",
           "synthesize_words",
]
