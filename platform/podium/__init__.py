"""Podium: a self-hosted platform for interactive ML demos (Gradio and Streamlit spaces)."""

__version__ = "0.1.0"
