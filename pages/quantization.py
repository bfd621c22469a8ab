import streamlit as st

st.title("quantization (in progress)")
