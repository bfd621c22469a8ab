import streamlit as st

st.title("gallery (in progress)")
