import streamlit as st

st.title("distillation (in progress)")
